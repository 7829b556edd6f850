import torch

from ptal.ops import _checks
from ptal_core.backends import select


def segment_iou(a: torch.Tensor, b: torch.Tensor, *, length_offset: float = 0.0,
                backend: str | None = None) -> torch.Tensor:
    """Pairwise temporal IoU.

    Args:
        a: (M, 2) float32/float64 ``[start, end]`` segments, end >= start.
        b: (N, 2) segments of the same dtype and device.
        length_offset: added to every length and intersection (0 for continuous time; 1 for the
            ``end - start + 1`` convention of frame-index code).
        backend: "reference", "cpu", "triton" or None (automatic).

    Returns:
        (M, N) IoU in ``a``'s dtype; 0 where the union is 0 (e.g. two zero-length segments).
    """
    a = _checks.segments("a", a)
    b = _checks.segments("b", b)
    _checks.same_dtype("b", b, a, "a")
    device = _checks.same_device(a=a, b=b)
    length_offset = _checks.number("length_offset", length_offset, low=0.0)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return a.new_zeros((a.shape[0], b.shape[0]))
    return select("segment_iou", device, backend)[1](a, b, length_offset)
