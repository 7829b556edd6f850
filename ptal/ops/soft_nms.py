import torch

from ptal.ops import _checks
from ptal.ops._groups import idxs_or_single_group
from ptal_core.backends import select


def soft_nms(segments: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None = None, *,
             method: str = "gaussian", sigma: float = 0.5, iou_threshold: float = 0.5, min_score: float = 1e-3,
             max_keep: int | None = None, backend: str | None = None):
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
        backend: "reference", "cpu", "cuda" or None (automatic).

    Returns:
        ``(segments (K, 2), scores (K,), indices (K,) int64)``: selected segments, their decayed scores
        (input dtype) and original indices, by decreasing decayed score (ties: lower index, which
        within a group is also the selection order).
    """
    segments, scores = _checks.scored_segments(segments, scores)
    method = _checks.choice("method", method, ("gaussian", "linear", "hard"))
    sigma = _checks.number("sigma", sigma, low=0.0, low_open=True)
    iou_threshold = _checks.number("iou_threshold", iou_threshold, low=0.0, high=1.0)
    min_score = _checks.number("min_score", min_score)
    if max_keep is not None:
        if isinstance(max_keep, bool) or not isinstance(max_keep, int):
            raise TypeError(f"max_keep must be an int or None, got {type(max_keep).__name__}")
        if max_keep < 1:
            raise ValueError(f"max_keep must be >= 1, got {max_keep}")
    idxs = idxs_or_single_group(idxs, segments)
    device = _checks.same_device(segments=segments, scores=scores, idxs=idxs)
    if segments.shape[0] == 0:
        return segments.new_zeros((0, 2)), scores.new_zeros(0), torch.empty(0, dtype=torch.int64, device=device)
    impl = select("soft_nms", device, backend)[1]
    return impl(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep)
