import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends, lazy
from ptal_core.native import segment_iou as native
from ptal_core.reference import segment_iou as reference

BACKENDS = Backends("segment_iou", reference=reference.segment_iou, cpu=native.segment_iou,
                    triton=lazy("ptal_core.triton.segment_iou", "segment_iou"))


@_arrays.interop
def segment_iou(a: torch.Tensor, b: torch.Tensor, *, length_offset: float = 0.0,
                backend: str | None = None) -> torch.Tensor:
    """Pairwise temporal IoU.

    Args:
        a: (M, 2) float32/float64 ``[start, end]`` segments, finite, end >= start.
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
    return _segment_iou(a, b, length_offset, BACKENDS.choose(device, backend), True)


def segment_iou_unchecked(a: torch.Tensor, b: torch.Tensor, *, length_offset: float = 0.0,
                          backend: str | None = None) -> torch.Tensor:
    """:func:`segment_iou` without validation, for inputs that the caller built valid (ptal's models)."""
    return _segment_iou(a, b, float(length_offset), BACKENDS.choose(a.device, backend), False)


@registered
def _segment_iou(a: torch.Tensor, b: torch.Tensor, length_offset: float, backend: str, check: bool) -> torch.Tensor:
    if check:
        _checks.segment_values("a", a)
        _checks.segment_values("b", b)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return a.new_zeros((a.shape[0], b.shape[0]))
    return BACKENDS.implementation(backend, a.device)(a, b, length_offset)


@torch.library.register_fake(_segment_iou)
def _(a, b, length_offset, backend, check):
    return a.new_empty((a.shape[0], b.shape[0]))
