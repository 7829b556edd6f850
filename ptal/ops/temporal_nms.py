import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends
from ptal_core.native import temporal_nms as native
from ptal_core.reference import temporal_nms as reference

BACKENDS = Backends("temporal_nms", reference=reference.temporal_nms, cpu=native.temporal_nms_cpu,
                    cuda=native.temporal_nms_cuda)


@_arrays.interop
def temporal_nms(segments: torch.Tensor, scores: torch.Tensor, iou_threshold: float, idxs: torch.Tensor | None = None,
                 *, length_offset: float = 0.0, suppress_at_threshold: bool = False, union_epsilon: float = 0.0,
                 backend: str | None = None) -> torch.Tensor:
    """Greedy (hard) non-maximum suppression of temporal segments, per group.

    Segments are visited by decreasing score, ties by lower index; a segment is kept unless an already
    kept segment of the same group overlaps it with IoU > ``iou_threshold``. This is torchvision's
    ``nms``/``batched_nms`` on boxes ``[start, 0, end, 1]``.

    Args:
        segments: (N, 2) float32/float64 ``[start, end]``, finite, end >= start.
        scores: (N,) same dtype, finite.
        iou_threshold: in [0, 1].
        idxs: (N,) integer group ids (e.g. video * num_classes + class); None = one group.
            Segments of different groups never suppress each other.
        length_offset: added to lengths and intersections (1 reproduces the ``end - start + 1`` NMS of
            LACP's release; 0, the default, is continuous time).
        suppress_at_threshold: suppress at IoU >= threshold (LACP, ActionFormer) instead of > (torchvision).
        union_epsilon: added to each of the two lengths in the IoU's union, not to the intersection; the IoU is
            computed in the segments' dtype. 1e-6 with ``suppress_at_threshold`` is the NMS of ActionFormer and
            OpenTAD (``inter / ((len1 + 1e-6) + (len2 + 1e-6) - inter)`` in float32); 0, the default, exact IoU.
        backend: "reference", "cpu", "cuda" or None (automatic).

    Returns:
        (K,) int64 indices of the kept segments, by decreasing score (ties: lower index first).
        Empty input gives an empty result.
    """
    segments, scores = _checks.scored_segments(segments, scores)
    iou_threshold = _checks.number("iou_threshold", iou_threshold, low=0.0, high=1.0)
    length_offset = _checks.number("length_offset", length_offset, low=0.0)
    union_epsilon = _checks.number("union_epsilon", union_epsilon, low=0.0)
    idxs = _checks.groups(idxs, segments)
    device = _checks.same_device(segments=segments, scores=scores, idxs=idxs)
    return _temporal_nms(segments, scores, iou_threshold, idxs, length_offset, bool(suppress_at_threshold),
                         union_epsilon, BACKENDS.choose(device, backend), True)


def temporal_nms_unchecked(segments: torch.Tensor, scores: torch.Tensor, iou_threshold: float,
                           idxs: torch.Tensor | None = None, *, length_offset: float = 0.0,
                           suppress_at_threshold: bool = False, union_epsilon: float = 0.0,
                           backend: str | None = None) -> torch.Tensor:
    """:func:`temporal_nms` without validation, for inputs that the caller built valid (ptal's models)."""
    return _temporal_nms(segments, scores, float(iou_threshold), idxs, float(length_offset),
                         bool(suppress_at_threshold), float(union_epsilon), BACKENDS.choose(segments.device, backend),
                         False)


@registered
def _temporal_nms(segments: torch.Tensor, scores: torch.Tensor, iou_threshold: float, idxs: torch.Tensor | None,
                  length_offset: float, suppress_at_threshold: bool, union_epsilon: float, backend: str,
                  check: bool) -> torch.Tensor:
    if check:
        _checks.segment_values("segments", segments)
        _checks.finite("scores", scores)
    if segments.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=segments.device)
    idxs = None if idxs is None else idxs.long()
    return BACKENDS.implementation(backend, segments.device)(segments, scores, idxs, iou_threshold, length_offset,
                                                             suppress_at_threshold, union_epsilon)


@torch.library.register_fake(_temporal_nms)
def _(segments, scores, iou_threshold, idxs, length_offset, suppress_at_threshold, union_epsilon, backend, check):
    return segments.new_empty((torch.library.get_ctx().new_dynamic_size(),), dtype=torch.int64)
