import torch

from ptal_core.grouping import group_rows, score_then_index_order
from ptal_core.native.common import address, cuda_stream, kernel

_METHODS = {"linear": 0, "gaussian": 1, "hard": 2}  # csrc/common/iou.h: SoftNmsMethod


def soft_nms_cpu(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep):
    grouped = _Grouped(segments, scores, idxs)
    kernel("_cpu", "soft_nms", segments.dtype)(*grouped.kernel_args(method, sigma, iou_threshold, min_score, max_keep))
    return grouped.selected(segments, scores)


def soft_nms_cuda(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep):
    grouped = _Grouped(segments, scores, idxs)
    with cuda_stream(segments.device) as stream:
        kernel("_cuda", "soft_nms", segments.dtype)(
            *grouped.kernel_args(method, sigma, iou_threshold, min_score, max_keep), stream)
    return grouped.selected(segments, scores)


class _Grouped:
    """The rows arranged by group for the kernels, their output buffers, and the selections read back."""

    def __init__(self, segments, scores, idxs):
        self.perm, self.offsets = group_rows(idxs)
        num_rows, num_groups = self.perm.numel(), self.offsets.numel() - 1
        device = segments.device
        self.segments, self.scores = segments[self.perm].contiguous(), scores[self.perm].contiguous()
        self.work = torch.empty(num_rows, dtype=torch.float64, device=device)
        self.out_rows = torch.empty(num_rows, dtype=torch.int64, device=device)
        self.out_scores = torch.empty(num_rows, dtype=torch.float64, device=device)
        self.out_counts = torch.empty(num_groups, dtype=torch.int64, device=device)

    def kernel_args(self, method, sigma, iou_threshold, min_score, max_keep):
        num_groups = self.offsets.numel() - 1
        return (address(self.segments), address(self.scores), address(self.offsets), num_groups, _METHODS[method],
                sigma, iou_threshold, min_score, self.perm.numel() if max_keep is None else max_keep,
                address(self.work), address(self.out_rows), address(self.out_scores), address(self.out_counts))

    def selected(self, segments, scores):
        """(segments, scores, indices) selected, by decreasing score (ties: lower index)."""
        # Group g's selections sit at [offsets[g], offsets[g] + out_counts[g]) in selection order.
        offsets, device = self.offsets, self.perm.device
        group_sizes = offsets[1:] - offsets[:-1]
        group_of_slot = torch.repeat_interleave(torch.arange(group_sizes.numel(), device=device), group_sizes)
        slot = torch.arange(self.perm.numel(), device=device)
        valid = slot - offsets[group_of_slot] < self.out_counts[group_of_slot]
        indices, selected_scores = self.perm[self.out_rows[valid]], self.out_scores[valid]
        order = score_then_index_order(indices, selected_scores)
        indices = indices[order]
        return segments[indices], selected_scores[order].to(scores.dtype), indices
