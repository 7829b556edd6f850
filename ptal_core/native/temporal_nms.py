import torch

from ptal_core.backends import compiled_module
from ptal_core.grouping import arranged, group_rows, original_rows, score_order, used_slots
from ptal_core.native.common import address, cuda_stream, kernel, order_by_score


def temporal_nms_cpu(segments, scores, idxs, iou_threshold, length_offset=0.0, suppress_at_threshold=False,
                     union_epsilon=0.0):
    # Groups in index order; each group is sorted by score inside the kernel, which writes its kept rows in
    # that order.
    perm, offsets = group_rows(idxs, segments.shape[0], segments.device)
    grouped_segments, grouped_scores = arranged(segments, perm).contiguous(), arranged(scores, perm).contiguous()
    out_rows = torch.empty(segments.shape[0], dtype=torch.int64)
    out_counts = torch.empty(offsets.numel() - 1, dtype=torch.int64)
    kernel("_cpu", "temporal_nms", segments.dtype)(
        address(grouped_segments), address(grouped_scores), address(offsets), offsets.numel() - 1, iou_threshold,
        length_offset, union_epsilon, suppress_at_threshold, address(out_rows), address(out_counts))
    kept = original_rows(out_rows[used_slots(offsets, out_counts)], perm)  # by group, each by score
    return kept if offsets.numel() == 2 else kept[order_by_score(kept, scores[kept])]


def temporal_nms_cuda(segments, scores, idxs, iou_threshold, length_offset=0.0, suppress_at_threshold=False,
                      union_epsilon=0.0):
    # Rows by group, each by decreasing score (ties: lower index). The groups' sizes, tiles (the upper
    # triangle of 64 x 64 blocks) and mask rows are computed on the device and read back in one copy; the
    # kept count is the only other read.
    num_rows, device = segments.shape[0], segments.device
    order = score_order(scores)
    perm = order if idxs is None else order[torch.sort(idxs[order], stable=True).indices]
    first = torch.ones(num_rows, dtype=torch.bool, device=device)  # the first row of each group
    if idxs is None:
        first[1:] = False
    else:
        grouped_ids = idxs[perm]
        torch.ne(grouped_ids[1:], grouped_ids[:-1], out=first[1:])
    group = torch.cumsum(first, 0) - 1
    sizes = torch.zeros(num_rows, dtype=torch.int64, device=device).index_add_(0, group, torch.ones_like(group))
    words = (sizes + 63) // 64
    num_groups, max_size, num_tiles, mask_size = torch.stack(
        [first.sum(), sizes.max(), (words * (words + 1) // 2).sum(), (sizes * words).sum()]).tolist()
    limit = compiled_module("_cuda").max_nms_group_size
    if max_size > limit:
        raise ValueError(f"idxs: the CUDA temporal_nms handles groups of at most {limit} segments, "
                         f"got a group of {max_size}; split it or use backend='cpu'")
    sizes, words = sizes[:num_groups], words[:num_groups]
    offsets, tile_offsets, mask_offsets = (torch.nn.functional.pad(torch.cumsum(counts, 0), (1, 0))
                                           for counts in (sizes, words * (words + 1) // 2, sizes * words))
    grouped = segments[perm].contiguous()
    mask = torch.empty(mask_size, dtype=torch.int64, device=device)
    keep = torch.zeros(num_rows, dtype=torch.uint8, device=device)
    with cuda_stream(device) as stream:
        kernel("_cuda", "temporal_nms", segments.dtype)(
            address(grouped), address(offsets), address(tile_offsets), address(mask_offsets), num_groups, num_tiles,
            (max_size + 63) // 64, iou_threshold, length_offset, union_epsilon, suppress_at_threshold, address(mask),
            address(keep),
            stream)
    kept = torch.empty_like(keep).index_copy_(0, perm, keep)  # by original row
    return order[kept[order].bool()]  # by decreasing score, ties by lower index
