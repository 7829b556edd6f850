import torch

from ptal_core.grouping import arranged, group_rows, original_rows, score_then_index_order, used_slots
from ptal_core.native.common import address, cuda_stream, kernel, order_by_score

_METHODS = {"linear": 0, "gaussian": 1, "hard": 2}  # csrc/common/iou.h: SoftNmsMethod


def soft_nms_cpu(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep, union_epsilon=0.0,
                 grouped=False):
    selections = _Grouped(segments, scores, idxs)
    kernel("_cpu", "soft_nms", segments.dtype)(*selections.kernel_args(method, sigma, iou_threshold, min_score,
                                                                       max_keep, union_epsilon))
    return selections.selected(segments, scores, None if grouped else order_by_score)


def soft_nms_cuda(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep, union_epsilon=0.0,
                  grouped=False):
    selections = _Grouped(segments, scores, idxs)
    with cuda_stream(segments.device) as stream:
        kernel("_cuda", "soft_nms", segments.dtype)(
            *selections.kernel_args(method, sigma, iou_threshold, min_score, max_keep, union_epsilon), stream)
    return selections.selected(segments, scores, None if grouped else score_then_index_order)


class _Grouped:
    """The rows arranged by group for the kernels, their output buffers, and the selections read back."""

    def __init__(self, segments, scores, idxs):
        num_rows, device = segments.shape[0], segments.device
        self.perm, self.offsets = group_rows(idxs, num_rows, device)
        num_groups = self.offsets.numel() - 1
        self.segments = arranged(segments, self.perm).contiguous()
        self.scores = arranged(scores, self.perm).contiguous()
        self.work = torch.empty(num_rows, dtype=torch.float64, device=device)
        self.out_rows = torch.empty(num_rows, dtype=torch.int64, device=device)
        self.out_scores = torch.empty(num_rows, dtype=torch.float64, device=device)
        self.out_counts = torch.empty(num_groups, dtype=torch.int64, device=device)

    def kernel_args(self, method, sigma, iou_threshold, min_score, max_keep, union_epsilon):
        num_groups = self.offsets.numel() - 1
        return (address(self.segments), address(self.scores), address(self.offsets), num_groups, _METHODS[method],
                sigma, iou_threshold, min_score, self.scores.numel() if max_keep is None else max_keep, union_epsilon,
                address(self.work), address(self.out_rows), address(self.out_scores), address(self.out_counts))

    def selected(self, segments, scores, order_by_score):
        """(segments, scores, indices) selected, group by group, each group's by decreasing score (ties: lower
        index); ``order_by_score(indices, scores)``, unless None, merges several groups' into that order."""
        slots = used_slots(self.offsets, self.out_counts)
        indices, selected_scores = original_rows(self.out_rows[slots], self.perm), self.out_scores[slots]
        if self.offsets.numel() > 2 and order_by_score is not None:
            order = order_by_score(indices, selected_scores)
            indices, selected_scores = indices[order], selected_scores[order]
        return segments[indices], selected_scores.to(scores.dtype), indices
