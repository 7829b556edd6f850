import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends
from ptal_core.native import soft_nms as native
from ptal_core.reference import soft_nms as reference

BACKENDS = Backends("soft_nms", reference=reference.soft_nms, cpu=native.soft_nms_cpu, cuda=native.soft_nms_cuda)
METHODS = ("gaussian", "linear", "hard")


@_arrays.interop
def soft_nms(segments: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None = None, *,
             method: str = "gaussian", sigma: float = 0.5, iou_threshold: float = 0.5, min_score: float = 1e-3,
             max_keep: int | None = None, union_epsilon: float = 0.0, grouped: bool = False,
             backend: str | None = None):
    """Soft non-maximum suppression of temporal segments, per group (computed in float64).

    Within each group, repeatedly select the remaining segment with the highest current score (ties:
    lower index) and decay the score of every other remaining segment by its IoU with it:
    ``gaussian``: ``exp(-IoU^2 / sigma)`` whatever the IoU (``iou_threshold`` unused, as ActionFormer and
    mmcv do); ``linear``: ``1 - IoU`` where IoU > ``iou_threshold``; ``hard``: 0 where IoU > ``iou_threshold``.
    A group stops when its best remaining score is below ``min_score`` or ``max_keep`` segments are
    selected; nothing is returned for a group whose scores are all below ``min_score`` (ActionFormer
    always returns at least one).

    Args:
        segments: (N, 2) float32/float64 ``[start, end]``, finite, end >= start.
        scores: (N,) same dtype, finite.
        idxs: (N,) integer group ids; None = one group.
        method: "gaussian", "linear" or "hard".
        sigma: > 0 (gaussian).
        iou_threshold: in [0, 1] (linear, hard).
        min_score: finite.
        max_keep: selections per group, a positive int, or None for no limit.
        union_epsilon: added to each of the two lengths in the IoU's union, not to the intersection (1e-6: the
            IoU of ActionFormer's and OpenTAD's soft-NMS, which they compute in float32); 0: exact IoU.
        grouped: return the selections group by group (ascending ``idxs``), each group's in selection order,
            instead of all by decreasing score (skips the merge of the groups: per-video results of a batch).
        backend: "reference", "cpu", "cuda" or None (automatic).

    Returns:
        ``(segments (K, 2), scores (K,), indices (K,) int64)``: selected segments, their decayed scores
        (input dtype) and original indices, by decreasing decayed score (ties: lower index, which
        within a group is also the selection order); with ``grouped``, ordered by group first.
    """
    segments, scores = _checks.scored_segments(segments, scores)
    method = _checks.choice("method", method, METHODS)
    sigma = _checks.number("sigma", sigma, low=0.0, low_open=True)
    iou_threshold = _checks.number("iou_threshold", iou_threshold, low=0.0, high=1.0)
    min_score = _checks.number("min_score", min_score)
    max_keep = None if max_keep is None else _checks.integer("max_keep", max_keep, low=1)
    union_epsilon = _checks.number("union_epsilon", union_epsilon, low=0.0)
    idxs = _checks.groups(idxs, segments)
    device = _checks.same_device(segments=segments, scores=scores, idxs=idxs)
    return _soft_nms(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep, union_epsilon,
                     bool(grouped), BACKENDS.choose(device, backend), True)


def soft_nms_unchecked(segments: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None = None, *,
                       method: str = "gaussian", sigma: float = 0.5, iou_threshold: float = 0.5,
                       min_score: float = 1e-3, max_keep: int | None = None, union_epsilon: float = 0.0,
                       grouped: bool = False, backend: str | None = None):
    """:func:`soft_nms` without validation, for inputs that the caller built valid (ptal's models)."""
    return _soft_nms(segments, scores, idxs, method, float(sigma), float(iou_threshold), float(min_score), max_keep,
                     float(union_epsilon), grouped, BACKENDS.choose(segments.device, backend), False)


@registered
def _soft_nms(segments: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None, method: str, sigma: float,
              iou_threshold: float, min_score: float, max_keep: int | None, union_epsilon: float, grouped: bool,
              backend: str, check: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if check:
        _checks.segment_values("segments", segments)
        _checks.finite("scores", scores)
    if segments.shape[0] == 0:
        return segments.new_zeros((0, 2)), scores.new_zeros(0), torch.empty(0, dtype=torch.int64,
                                                                             device=segments.device)
    idxs = None if idxs is None else idxs.long()
    return BACKENDS.implementation(backend, segments.device)(segments, scores, idxs, method, sigma, iou_threshold,
                                                             min_score, max_keep, union_epsilon, grouped)


@torch.library.register_fake(_soft_nms)
def _(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep, union_epsilon, grouped, backend,
      check):
    kept = torch.library.get_ctx().new_dynamic_size()
    return segments.new_empty((kept, 2)), scores.new_empty(kept), segments.new_empty(kept, dtype=torch.int64)
