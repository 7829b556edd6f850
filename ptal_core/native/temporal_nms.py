import torch

from ptal_core.backends import compiled_module
from ptal_core.grouping import arranged, group_rows, original_rows, score_order, score_then_index_order, used_slots
from ptal_core.native.common import address, cuda_stream, kernel, order_by_score


def _kept_by_score(perm: torch.Tensor, keep: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Kept original indices by decreasing score (ties: lower index), from the keep flags (N,) of the
    rows arranged as ``perm``."""
    kept = perm[keep.bool()]
    return kept[score_then_index_order(kept, scores[kept])]


def temporal_nms_cpu(segments, scores, idxs, iou_threshold, length_offset=0.0, suppress_at_threshold=False):
    # Groups in index order; each group is sorted by score inside the kernel, which writes its kept rows in
    # that order.
    perm, offsets = group_rows(idxs, segments.shape[0], segments.device)
    grouped_segments, grouped_scores = arranged(segments, perm).contiguous(), arranged(scores, perm).contiguous()
    out_rows = torch.empty(segments.shape[0], dtype=torch.int64)
    out_counts = torch.empty(offsets.numel() - 1, dtype=torch.int64)
    kernel("_cpu", "temporal_nms", segments.dtype)(
        address(grouped_segments), address(grouped_scores), address(offsets), offsets.numel() - 1, iou_threshold,
        length_offset, suppress_at_threshold, address(out_rows), address(out_counts))
    kept = original_rows(out_rows[used_slots(offsets, out_counts)], perm)  # by group, each by score
    return kept if offsets.numel() == 2 else kept[order_by_score(kept, scores[kept])]


def temporal_nms_cuda(segments, scores, idxs, iou_threshold, length_offset=0.0, suppress_at_threshold=False):
    order = score_order(scores)
    perm, offsets = group_rows(idxs, segments.shape[0], segments.device, order)
    sizes = offsets[1:] - offsets[:-1]
    words = (sizes + 63) // 64
    max_size = int(sizes.max())
    limit = compiled_module("_cuda").max_nms_group_size
    if max_size > limit:
        raise ValueError(f"idxs: the CUDA temporal_nms handles groups of at most {limit} segments, "
                         f"got a group of {max_size}; split it or use backend='cpu'")
    tile_offsets = torch.nn.functional.pad(torch.cumsum(words * words, 0), (1, 0))
    mask_offsets = torch.nn.functional.pad(torch.cumsum(sizes * words, 0), (1, 0))
    grouped = segments[perm].contiguous()
    mask = torch.empty(int(mask_offsets[-1]), dtype=torch.int64, device=segments.device)
    keep = torch.zeros(perm.numel(), dtype=torch.uint8, device=segments.device)
    with cuda_stream(segments.device) as stream:
        kernel("_cuda", "temporal_nms", segments.dtype)(
            address(grouped), address(offsets), address(tile_offsets), address(mask_offsets), offsets.numel() - 1,
            int(tile_offsets[-1]), (max_size + 63) // 64, iou_threshold, length_offset, suppress_at_threshold,
            address(mask), address(keep), stream)
    return _kept_by_score(perm, keep, scores)
