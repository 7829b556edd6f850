import torch

from ptal_core.native.common import address, kernel


def segment_iou(a: torch.Tensor, b: torch.Tensor, length_offset: float = 0.0) -> torch.Tensor:
    a, b = a.contiguous(), b.contiguous()
    out = torch.empty((a.shape[0], b.shape[0]), dtype=a.dtype)
    kernel("_cpu", "segment_iou", a.dtype)(address(a), a.shape[0], address(b), b.shape[0], length_offset, address(out))
    return out
