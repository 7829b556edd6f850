"""Triton threshold proposals, data-parallel: one program per (video, channel, threshold) flags run starts
and ends block by block; a first launch counts the runs, a second writes them at offsets from the counts. The
grid is 1-D (a second grid axis holds at most 65 535 programs: thresholds there would be bounded by it)."""
import torch
import triton
import triton.language as tl

from ptal_core.native.threshold_proposals import run_offsets


@triton.jit
def _inside(values_ptr, stride, t, length, threshold):
    value = tl.load(values_ptr + t * stride, mask=(t >= 0) & (t < length), other=0)
    return (value >= threshold) & (value > 0)


@triton.jit
def _run_flags(values_ptr, stride, t, length, threshold):
    """Whether each snippet t starts / ends a maximal run (snippets outside [0, length) are outside)."""
    here = _inside(values_ptr, stride, t, length, threshold)
    starts = here & ~_inside(values_ptr, stride, t - 1, length, threshold)
    ends = here & ~_inside(values_ptr, stride, t + 1, length, threshold)
    return starts, ends


@triton.jit
def _job(scores_ptr, thresholds_ptr, lengths_ptr, time, channels, num_thresholds):
    """This program's job (its index in the (B, K, S) counts), video, channel, sequence pointer, length and
    threshold."""
    job = tl.program_id(0).to(tl.int64)
    sequence = job // num_thresholds
    threshold_index = job % num_thresholds
    video = sequence // channels
    channel = sequence % channels
    values_ptr = scores_ptr + video * time * channels + channel
    return (job, video, channel, values_ptr, tl.load(lengths_ptr + video),
            tl.load(thresholds_ptr + threshold_index))


@triton.jit
def _count_kernel(scores_ptr, thresholds_ptr, lengths_ptr, counts_ptr, time, channels, num_thresholds,
                  BLOCK_T: tl.constexpr):
    job, video, channel, values_ptr, length, threshold = _job(
        scores_ptr, thresholds_ptr, lengths_ptr, time, channels, num_thresholds)
    count = tl.zeros([BLOCK_T], dtype=tl.int64)
    for block in range(0, length, BLOCK_T):
        starts, ends = _run_flags(values_ptr, channels, block + tl.arange(0, BLOCK_T), length, threshold)
        count += starts.to(tl.int64)
    tl.store(counts_ptr + job, tl.sum(count))


@triton.jit
def _write_kernel(scores_ptr, thresholds_ptr, lengths_ptr, offsets_ptr, segments_ptr, time, channels,
                  num_thresholds, BLOCK_T: tl.constexpr):
    job, video, channel, values_ptr, length, threshold = _job(
        scores_ptr, thresholds_ptr, lengths_ptr, time, channels, num_thresholds)
    first_row = tl.load(offsets_ptr + job)
    next_start_row = first_row
    next_end_row = first_row  # a run may start in one block and end in a later one
    for block in range(0, length, BLOCK_T):
        t = block + tl.arange(0, BLOCK_T)
        starts, ends = _run_flags(values_ptr, channels, t, length, threshold)
        start_rows = segments_ptr + 4 * (next_start_row + tl.cumsum(starts.to(tl.int64), 0) - 1)
        end_rows = segments_ptr + 4 * (next_end_row + tl.cumsum(ends.to(tl.int64), 0) - 1)
        tl.store(start_rows, video + 0 * t, mask=starts)
        tl.store(start_rows + 1, channel + 0 * t, mask=starts)
        tl.store(start_rows + 2, t.to(tl.int64), mask=starts)
        tl.store(end_rows + 3, t.to(tl.int64), mask=ends)
        next_start_row += tl.sum(starts.to(tl.int64))
        next_end_row += tl.sum(ends.to(tl.int64))


def threshold_proposals(scores, thresholds, lengths):
    scores, lengths = scores.contiguous(), lengths.contiguous()
    batch, time, channels = scores.shape
    num_thresholds = thresholds.numel()
    counts = torch.empty((batch, channels, num_thresholds), dtype=torch.int64, device=scores.device)
    if counts.numel() == 0:
        return torch.empty((0, 4), dtype=torch.int64, device=scores.device), counts
    grid = (batch * channels * num_thresholds,)
    block = min(1024, triton.next_power_of_2(max(time, 1)))
    _count_kernel[grid](scores, thresholds, lengths, counts, time, channels, num_thresholds, BLOCK_T=block)
    offsets, total = run_offsets(counts)
    segments = torch.empty((total, 4), dtype=torch.int64, device=scores.device)
    if total:
        _write_kernel[grid](scores, thresholds, lengths, offsets, segments, time, channels, num_thresholds,
                            BLOCK_T=block)
    return segments, counts
