"""Triton proposal generation: one program per video flags the candidate boundaries; one program per
(video, block of starts, block of durations) scores every (start, start + d) pair, d_min <= d <= d_max, into a
dense (B, T, W) table (-1 where a pair is not a candidate pair); a stable descending sort of each video's table
(whose row-major order is (start, end) ascending, the tie order) ranks them. The scoring grid is 1-D (a second
grid axis holds at most 65 535 programs) and its blocks hold at most PAIR_BLOCK pairs, whatever d_max. The
first ``proposal_capacity`` columns of the sorted table are each video's padded rows (its count: those scored
>= 0), which :func:`compact` turns into proposals."""
import torch
import triton
import triton.language as tl

from ptal_core.reference.generate_proposals import compact, proposal_capacity

BLOCK_SNIPPETS = 1024
PAIR_BLOCK = 4096  # pairs per program of the scoring kernel


@triton.jit
def _candidate_kernel(prob_ptr, lengths_ptr, flags_ptr, num_snippets, BLOCK_T: tl.constexpr):
    video = tl.program_id(0).to(tl.int64)
    row = prob_ptr + video * num_snippets
    length = tl.load(lengths_ptr + video)
    largest = tl.full([BLOCK_T], float("-inf"), dtype=prob_ptr.dtype.element_ty)
    for block in range(0, length, BLOCK_T):
        t = block + tl.arange(0, BLOCK_T)
        largest = tl.maximum(largest, tl.load(row + t, mask=t < length, other=float("-inf")))
    half_max = 0.5 * tl.max(largest, 0)
    for block in range(0, num_snippets, BLOCK_T):
        t = block + tl.arange(0, BLOCK_T)
        inside = t < length
        here = tl.load(row + t, mask=inside, other=0)
        before = tl.load(row + t - 1, mask=inside & (t > 0), other=float("-inf"))
        after = tl.load(row + t + 1, mask=t + 1 < length, other=float("-inf"))
        flag = inside & (((here > before) & (here > after)) | (here > half_max))
        tl.store(flags_ptr + video * num_snippets + t, flag.to(tl.int8), mask=t < num_snippets)


@triton.jit
def _pair_score_kernel(start_ptr, end_ptr, start_flags_ptr, end_flags_ptr, lengths_ptr, scores_ptr, num_snippets,
                       d_min, width, BLOCK_S: tl.constexpr, BLOCK_W: tl.constexpr):
    start_blocks, width_blocks = tl.cdiv(num_snippets, BLOCK_S), tl.cdiv(width, BLOCK_W)
    program = tl.program_id(0).to(tl.int64)
    video = program // (start_blocks * width_blocks)
    start = (program // width_blocks) % start_blocks * BLOCK_S + tl.arange(0, BLOCK_S)
    offset = program % width_blocks * BLOCK_W + tl.arange(0, BLOCK_W)
    length = tl.load(lengths_ptr + video)
    rows = video * num_snippets
    start_ok = start < length
    end = start[:, None] + d_min + offset[None, :]
    pair_ok = start_ok[:, None] & (offset < width)[None, :] & (end < length)
    is_start = tl.load(start_flags_ptr + rows + start, mask=start_ok, other=0) != 0
    is_end = tl.load(end_flags_ptr + rows + end, mask=pair_ok, other=0) != 0
    p_start = tl.load(start_ptr + rows + start, mask=start_ok, other=0)
    p_end = tl.load(end_ptr + rows + end, mask=pair_ok, other=0)
    score = tl.where(pair_ok & is_start[:, None] & is_end, p_start[:, None] * p_end, -1)
    tl.store(scores_ptr + (rows + start[:, None]) * width + offset[None, :], score,
             mask=(start < num_snippets)[:, None] & (offset < width)[None, :])


def generate_proposals_padded(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    """Per-video tables: pairs (B, C, 2), scores (B, C) (past counts[b]: score -1, any pair) and counts (B,)."""
    start_prob, end_prob = start_prob.contiguous(), end_prob.contiguous()
    num_videos, num_snippets = start_prob.shape
    device = start_prob.device
    capacity = proposal_capacity(num_snippets, d_min, d_max, max_proposals)
    if capacity == 0 or num_videos == 0:
        return (torch.zeros((num_videos, capacity, 2), dtype=torch.int64, device=device),
                start_prob.new_zeros((num_videos, capacity)), torch.zeros(num_videos, dtype=torch.int64, device=device))
    width = min(d_max, num_snippets - 1) - d_min + 1  # end - start - d_min in [0, width)
    flags = []
    for prob in (start_prob, end_prob):
        flag = torch.empty((num_videos, num_snippets), dtype=torch.int8, device=device)
        _candidate_kernel[(num_videos,)](prob, lengths, flag, num_snippets,
                                         BLOCK_T=min(BLOCK_SNIPPETS, triton.next_power_of_2(num_snippets)))
        flags.append(flag)
    block_w = min(triton.next_power_of_2(width), PAIR_BLOCK)
    block_s = PAIR_BLOCK // block_w
    table = torch.empty((num_videos, num_snippets * width), dtype=start_prob.dtype, device=device)
    grid = (num_videos * triton.cdiv(num_snippets, block_s) * triton.cdiv(width, block_w),)
    _pair_score_kernel[grid](
        start_prob, end_prob, flags[0], flags[1], lengths, table, num_snippets, d_min, width, BLOCK_S=block_s,
        BLOCK_W=block_w, enable_fp_fusion=False)
    scores, index = torch.sort(table, dim=1, descending=True, stable=True)
    scores, index = scores[:, :capacity], index[:, :capacity]
    start = index // width
    pairs = torch.stack([start, start + d_min + index % width], 2)
    return pairs, scores, (scores >= 0).sum(1)


def generate_proposals(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    return compact(*generate_proposals_padded(start_prob, end_prob, lengths, d_min, d_max, max_proposals))
