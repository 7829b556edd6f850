"""The 0/1 masks of the LACP ops (points, seeds) as bytes, with their reductions, checked in the same pass:
the C++ pass on CPU tensors, the torch reference elsewhere (and with ``backend="reference"``)."""
import torch

from ptal_core.backends import Backends
from ptal_core.native import binary_masks as native
from ptal_core.reference import binary_masks as reference

BACKENDS = Backends("binary_masks", reference=reference.binary_masks, cpu=native.binary_masks_cpu)


def binary_masks(name: str, values: torch.Tensor, lengths: torch.Tensor, backend: str, check: bool):
    """``values`` (B, T, K) or (B, T), 0s and 1s of any real or bool dtype, none at a snippet past its video's
    length (checked with ``check``; a ValueError names ``name`` and the entry).

    Returns masks (B, T, K) uint8 (or (B, T, 1)), their any over K (B, T) and any over T (B, K), uint8."""
    values_3d = values if values.dim() == 3 else values[..., None]
    use_reference = backend == "reference" or values.device.type != "cpu"
    function = BACKENDS.reference if use_reference else BACKENDS.implementation("cpu", values.device)
    masks, any_inner, any_time, error = function(values_3d, lengths, check)
    if error is not None:
        kind, flat = error
        where = torch.unravel_index(torch.tensor(flat), values_3d.shape)
        video, snippet = int(where[0]), int(where[1])
        if kind == reference.NOT_BINARY:
            entry = [video, snippet, int(where[2])][:values.dim()]
            raise ValueError(f"{name} must hold only 0 and 1, {name}{entry} is {values_3d.flatten()[flat].item()}")
        raise ValueError(f"{name}: video {video} has a nonzero entry at snippet {snippet}, past its length "
                         f"{int(lengths[video])}")
    return masks, any_inner, any_time
