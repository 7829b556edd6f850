import torch

from ptal_core.backends import compiled_module
from ptal_core.native.common import address

_SUFFIX = {torch.float32: "f32", torch.float64: "f64", torch.uint8: "u8"}


def binary_masks_cpu(values, lengths, check):
    """See ptal_core/reference/binary_masks.py."""
    if values.dtype == torch.bool:
        values = values.view(torch.uint8)
    elif values.dtype not in _SUFFIX:
        values = values.to(torch.float64)  # exact for every 0 and 1, and keeps every other value other
    values = values.contiguous()
    batch, time, inner = values.shape
    masks = torch.empty(values.shape, dtype=torch.uint8)
    any_inner = torch.empty((batch, time), dtype=torch.uint8)
    any_time = torch.empty((batch, inner), dtype=torch.uint8)
    kind, index = getattr(compiled_module("_cpu"), f"binary_masks_{_SUFFIX[values.dtype]}")(
        address(values), batch, time, inner, address(lengths), check, address(masks), address(any_inner),
        address(any_time))
    return masks, any_inner, any_time, (kind, index) if kind else None
