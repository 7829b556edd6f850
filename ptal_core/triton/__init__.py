"""Triton kernels. Imported only when a Triton backend runs (ptal_core.backends.lazy)."""
import torch


def device_scalars(values, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``values`` (numbers) as a (len,) tensor on ``device``, for kernels that must read them in ``dtype``:
    Triton passes a Python float as float32. Written by fills, not copied from the host, so no launch waits
    for the device (torch.tensor(..., device=cuda) would synchronise)."""
    out = torch.empty(len(values), dtype=dtype, device=device)
    for i, value in enumerate(values):
        out[i] = value
    return out
