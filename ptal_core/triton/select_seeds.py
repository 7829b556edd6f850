"""Triton LACP seed selection: one program per video runs the sequential scan of csrc/cpu/select_seeds.cpp
(stretches between points summarised as they are scanned, then their seeds and walks written)."""
import triton
import triton.language as tl

from ptal_core.native.select_seeds import seed_buffers
from ptal_core.triton import device_scalars


@triton.jit
def _select_seeds_kernel(background_ptr, anchors_ptr, lengths_ptr, thresholds_ptr, act_ptr, bkg_ptr, time, classes,
                         BLOCK_C: tl.constexpr):
    video = tl.program_id(0).to(tl.int64)
    length = tl.load(lengths_ptr + video)
    bkg_thresh = tl.load(thresholds_ptr)
    act_thresh = tl.load(thresholds_ptr + 1)
    score_row = background_ptr + video * time
    anchor_row = anchors_ptr + video * time
    bkg_row = bkg_ptr + video * time
    act_rows = act_ptr + video * time * classes
    class_ids = tl.arange(0, BLOCK_C)
    class_ok = class_ids < classes

    none = length * 0 - 1  # int64 scalars, so that every loop-carried index has one type
    previous = none  # the last point
    # The stretch [begin, t) without points: b >= bkg_thresh candidates, first argmax of b, stoppers b > act_thresh.
    begin = none + 1
    hits = none + 1
    first_hit = none + time
    last_hit = none
    peak = begin
    peak_score = bkg_thresh
    first_stop = none + time
    last_stop = none
    # t == length closes the last stretch as if a point followed the video.
    for t in range(0, length + 1):
        has_right = t < length
        is_point = tl.load(anchor_row + t, mask=has_right, other=1) != 0
        if is_point:
            end = t - 1
            if end >= begin:
                has_left = previous >= 0
                # Background seeds [first_seed, last_seed] (see csrc/cpu/select_seeds.cpp).
                span = hits >= 2
                first_seed = tl.where(has_left, tl.where(has_right, tl.where(span, first_hit, peak),
                                                         tl.where(hits > 0, first_hit, peak)), begin)
                last_seed = tl.where(has_right, tl.where(has_left, tl.where(span, last_hit, peak),
                                                         tl.where(hits > 0, last_hit, peak)), end)
                for u in range(first_seed, last_seed + 1):
                    tl.store(bkg_row + u, 1)
                # The rows of the points on either side (clamped into the video where there is none: unused).
                left_row = tl.load(act_rows + tl.maximum(previous, 0) * classes + class_ids, mask=class_ok)
                right_row = tl.load(act_rows + tl.minimum(t, length - 1) * classes + class_ids, mask=class_ok)
                left_walk_end = tl.where(has_left, tl.minimum(first_seed, first_stop), begin)
                for u in range(begin, left_walk_end):
                    tl.store(act_rows + u * classes + class_ids, left_row, mask=class_ok)
                right_walk_begin = tl.where(has_right, tl.maximum(last_seed, last_stop) + 1, end + 1)
                for u in range(right_walk_begin, end + 1):
                    tl.store(act_rows + u * classes + class_ids, right_row, mask=class_ok)
            previous = t
            begin = previous + 1
            hits = none + 1
            first_hit = none + time
            last_hit = none
            peak = begin
            first_stop = none + time
            last_stop = none
        else:
            score = tl.load(score_row + t)
            hit = score >= bkg_thresh
            hits += hit.to(tl.int64)
            first_hit = tl.where(hit, tl.minimum(first_hit, t), first_hit)
            last_hit = tl.where(hit, t, last_hit)
            better = (t == begin) | (score > peak_score)
            peak = tl.where(better, t, peak)
            peak_score = tl.where(better, score, peak_score)
            stop = ~(score <= act_thresh)
            first_stop = tl.where(stop, tl.minimum(first_stop, t), first_stop)
            last_stop = tl.where(stop, t, last_stop)


def select_seeds(background, points, anchors, lengths, bkg_thresh, act_thresh):
    background, anchors, act_seed, bkg_seed = seed_buffers(background, points, anchors)
    batch, time, classes = act_seed.shape
    thresholds = device_scalars([bkg_thresh, act_thresh], background.dtype, background.device)
    if batch:
        _select_seeds_kernel[(batch,)](background, anchors, lengths.contiguous(), thresholds, act_seed, bkg_seed,
                                       time, classes, BLOCK_C=triton.next_power_of_2(max(classes, 1)))
    return act_seed, bkg_seed
