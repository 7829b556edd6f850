"""Reference greedy temporal NMS."""
import torch

from ptal_core.grouping import group_ids, score_order
from ptal_core.reference.segment_iou import segment_iou


def temporal_nms(segments: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None, iou_threshold: float,
                 length_offset: float = 0.0, suppress_at_threshold: bool = False,
                 union_epsilon: float = 0.0) -> torch.Tensor:
    """Greedy NMS within each group of ``idxs`` (None: one group): visit segments by decreasing score (ties:
    lower index), keep one unless a kept segment of its group overlaps it by IoU > ``iou_threshold`` (>= when
    ``suppress_at_threshold``; IoU as :func:`segment_iou` with ``length_offset`` and ``union_epsilon``, in the
    segments' dtype). Returns the kept indices (K,) int64 by decreasing score, ties by index.
    """
    keep = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    idxs = group_ids(idxs, scores.numel(), scores.device)
    for group in torch.unique(idxs):
        members = torch.nonzero(idxs == group).flatten()
        members = members[score_order(scores[members])]
        iou = segment_iou(segments[members], segments[members], length_offset, union_epsilon)
        overlaps = iou >= iou_threshold if suppress_at_threshold else iou > iou_threshold
        suppressed = torch.zeros(members.numel(), dtype=torch.bool, device=scores.device)
        for i in range(members.numel()):
            if suppressed[i]:
                continue
            keep[members[i]] = True
            suppressed |= overlaps[i]
    order = score_order(scores)
    return order[keep[order]]
