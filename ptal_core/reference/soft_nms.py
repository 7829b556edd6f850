"""Reference soft-NMS."""
import torch

from ptal_core.grouping import group_ids, score_then_index_order
from ptal_core.reference.segment_iou import segment_iou


def decay_weight(iou: torch.Tensor, method: str, sigma: float, iou_threshold: float) -> torch.Tensor:
    """Factor applied to a score whose segment has IoU ``iou`` with the one just selected."""
    if method == "gaussian":
        return torch.exp(-(iou * iou) / sigma)
    over = iou > iou_threshold
    if method == "linear":
        return torch.where(over, 1.0 - iou, torch.ones_like(iou))
    return torch.where(over, torch.zeros_like(iou), torch.ones_like(iou))  # "hard"


def soft_nms(segments: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None, method: str, sigma: float,
             iou_threshold: float, min_score: float, max_keep: int | None, union_epsilon: float = 0.0,
             grouped: bool = False):
    """Soft-NMS within each group of ``idxs`` (None: one group), computed in float64.

    Repeatedly select the remaining segment of highest current score (ties: lower index); stop when
    it is below ``min_score`` or ``max_keep`` are selected; decay every other remaining score by
    :func:`decay_weight` of its IoU (:func:`segment_iou` with ``union_epsilon``) with the selected segment. Returns ``(segments (K, 2), scores (K,), indices (K,))``: the selected segments,
    their decayed scores (input dtype) and original indices, by decreasing decayed score (ties: lower index);
    ``grouped``: by group first (ascending id).
    """
    selected, selected_scores = [], []
    idxs = group_ids(idxs, scores.numel(), scores.device)
    for group in torch.unique(idxs):
        members = torch.nonzero(idxs == group).flatten()
        group_segments = segments[members].double()
        current = scores[members].double()
        remaining = torch.ones(members.numel(), dtype=torch.bool, device=scores.device)
        kept = 0
        while remaining.any() and (max_keep is None or kept < max_keep):
            best = int(torch.argmax(torch.where(remaining, current, -torch.inf)))
            if current[best] < min_score:
                break
            selected.append(int(members[best]))
            selected_scores.append(float(current[best]))
            remaining[best] = False
            kept += 1
            iou = segment_iou(group_segments[best:best + 1], group_segments, union_epsilon=union_epsilon)[0]
            weight = decay_weight(iou, method, sigma, iou_threshold)
            current = torch.where(remaining, current * weight, current)
    indices = torch.tensor(selected, dtype=torch.int64, device=scores.device)
    out_scores = torch.tensor(selected_scores, dtype=torch.float64, device=scores.device)
    order = score_then_index_order(indices, out_scores)
    if grouped:
        order = order[torch.sort(idxs[indices[order]], stable=True).indices]
    indices = indices[order]
    return segments[indices], out_scores[order].to(scores.dtype), indices
