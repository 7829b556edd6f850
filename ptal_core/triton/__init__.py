"""Triton kernels. Imported only when a Triton backend runs (ptal_core.backends.lazy)."""
import torch


def device_scalars(values, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``values`` (numbers) as a (len,) tensor on ``device``, for kernels that must read them in ``dtype``:
    Triton passes a Python float as float32. Filled on the device, not copied from the host, so that nothing
    waits for the device (torch.tensor(..., device="cuda") would synchronise)."""
    return torch.cat([torch.full((1,), value, dtype=dtype, device=device) for value in values])
