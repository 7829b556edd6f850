import torch

from ptal_core.backends import register
from ptal_core.grouping import group_rows, score_then_index_order
from ptal_core.native.common import address, cuda_stream, kernel

_METHODS = {"linear": 0, "gaussian": 1, "hard": 2}  # csrc/common/iou.h: SoftNmsMethod


def _soft_nms(module, segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep):
    perm, offsets = group_rows(idxs)
    num_rows, num_groups = perm.numel(), offsets.numel() - 1
    grouped_segments, grouped_scores = segments[perm].contiguous(), scores[perm].contiguous()
    device = segments.device
    work = torch.empty(num_rows, dtype=torch.float64, device=device)
    out_rows = torch.empty(num_rows, dtype=torch.int64, device=device)
    out_scores = torch.empty(num_rows, dtype=torch.float64, device=device)
    out_counts = torch.empty(num_groups, dtype=torch.int64, device=device)
    args = (address(grouped_segments), address(grouped_scores), address(offsets), num_groups, _METHODS[method],
            sigma, iou_threshold, min_score, num_rows if max_keep is None else max_keep, address(work),
            address(out_rows), address(out_scores), address(out_counts))
    if module == "_cuda":
        with cuda_stream(device) as stream:
            kernel(module, "soft_nms", segments.dtype)(*args, stream)
    else:
        kernel(module, "soft_nms", segments.dtype)(*args)
    # Group g's selections sit at [offsets[g], offsets[g] + out_counts[g]) in selection order.
    slot = torch.arange(num_rows, device=device)
    group_of_slot = torch.repeat_interleave(torch.arange(num_groups, device=device), offsets[1:] - offsets[:-1])
    valid = slot - offsets[group_of_slot] < out_counts[group_of_slot]
    indices, selected_scores = perm[out_rows[valid]], out_scores[valid]
    order = score_then_index_order(indices, selected_scores)
    indices = indices[order]
    return segments[indices], selected_scores[order].to(scores.dtype), indices


@register("soft_nms", "cpu")
def soft_nms_cpu(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep):
    return _soft_nms("_cpu", segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep)


@register("soft_nms", "cuda")
def soft_nms_cuda(segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep):
    return _soft_nms("_cuda", segments, scores, idxs, method, sigma, iou_threshold, min_score, max_keep)
