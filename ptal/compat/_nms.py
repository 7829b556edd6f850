"""The post-processing that ActionFormer's and OpenTAD's ``batched_nms`` share, for a whole test set at once.

Per video they keep the candidates above a minimum score (hard NMS only), run NMS or soft-NMS per class
(``multiclass``) or over all classes, cap each NMS run's selections, optionally refine each kept segment by
score voting over all the video's candidates (class-agnostic only), then sort the video's detections by score
and keep the best ``max_seg_num``. Here every video and class of a test set is one group of one call of ptal's
``temporal_nms`` / ``soft_nms``; the rest is a handful of vectorised steps.
"""
from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import torch

from ptal.ops import soft_nms, temporal_nms

# The soft-NMS method numbers of their C++ extension: 0 hard, 1 linear, 2 Gaussian (3, OpenTAD's improved
# Gaussian, is handled by the caller).
SOFT_METHODS = {0: "hard", 1: "linear", 2: "gaussian"}
# Their NMS and soft-NMS add it to each segment's length in the IoU's union (not to the intersection).
UNION_EPSILON = 1e-6


def nms_videos(videos: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], *, iou_threshold: float,
               min_score: float, max_seg_num: int, use_soft_nms: bool, multiclass: bool, sigma: float,
               voting_thresh: float, method: int, voting_weighted_by_iou: bool,
               improved_gaussian: tuple[float, float] = (0.0, 0.0)):
    """Post-process each video's (segments (N, 2), scores (N,), labels (N,)); returns one (segments, scores,
    labels) tuple per video, as the originals' ``batched_nms`` does for one. ``method``: their soft-NMS method
    number; ``improved_gaussian``: (t1, t2) of method 3."""
    counts = [int(scores.shape[0]) for _, scores, _ in videos]
    dtypes = {segments.dtype for segments, _, _ in videos}
    if len(dtypes) > 1:
        raise TypeError(f"every video's segs must have one dtype, got {sorted(map(str, dtypes))}")
    if sum(counts) == 0:
        return [_empty(labels) for _, _, labels in videos]
    settings = dict(iou_threshold=iou_threshold, min_score=min_score, max_seg_num=max_seg_num,
                    use_soft_nms=use_soft_nms, multiclass=multiclass, sigma=sigma, voting_thresh=voting_thresh,
                    method=method, voting_weighted_by_iou=voting_weighted_by_iou, improved_gaussian=improved_gaussian)
    results, exact = _post_process(videos, counts, settings, prune=max_seg_num > 0)
    redo = [v for v, ok in enumerate(exact) if not ok]
    if redo:  # the videos where the pruned run cannot vouch for its result: again with every candidate
        for v, result in zip(redo, _post_process([videos[v] for v in redo], [counts[v] for v in redo], settings,
                                                 prune=False)[0]):
            results[v] = result
    return results


def _post_process(videos, counts, settings, prune):
    """(results, exact): each video's detections, and whether they are certainly those of a run on all its
    candidates. With ``prune``, NMS runs only on each video's candidates scoring at least its
    (PRUNE_FACTOR * max_seg_num)-th best: the selections scoring above every left-out candidate are those of the
    full run (a left-out candidate is never the best remaining while they are, so it neither is selected before
    them nor decays them), so a video's result is exact when its last kept detection scores above its best
    left-out candidate and no two kept detections tie."""
    iou_threshold, min_score, max_seg_num = settings["iou_threshold"], settings["min_score"], settings["max_seg_num"]
    use_soft_nms, multiclass, method = settings["use_soft_nms"], settings["multiclass"], settings["method"]
    segments = torch.cat([s for s, _, _ in videos])
    scores = torch.cat([s for _, s, _ in videos])
    labels = torch.cat([lab for _, _, lab in videos])
    video = torch.from_numpy(np.repeat(np.arange(len(videos)), counts)).to(scores.device)
    if multiclass:  # ascending groups: by video, then by class, the order of their loop over torch.unique(labels)
        num_classes, rank = _class_ranks(labels)
        group = video * num_classes + rank
    else:
        group = video

    candidates = torch.arange(scores.shape[0], device=scores.device)
    if min_score > 0 and not use_soft_nms:
        candidates = torch.nonzero(scores > min_score).flatten()
    left_out_best = torch.full((len(videos),), -torch.inf, dtype=torch.float64)
    if prune and max(counts) > PRUNE_FACTOR * max_seg_num:
        candidates, left_out_best = _pruned(candidates, scores, video, counts, PRUNE_FACTOR * max_seg_num)
    if multiclass:  # (class-agnostic, the groups are the videos: already in order)
        candidates = candidates[_group_order(group[candidates])]  # the NMS ops then need not sort by group
    one_group = len(videos) == 1 and not multiclass
    if use_soft_nms:
        selected, kept_scores = _soft_nms_rows(segments[candidates], scores[candidates], group[candidates],
                                               one_group, iou_threshold, min_score, max_seg_num, settings["sigma"],
                                               method, settings["improved_gaussian"])
        rows = candidates[selected]
    else:
        rows = candidates[_hard_nms_rows(segments[candidates], scores[candidates], group[candidates], one_group,
                                         iou_threshold, max_seg_num)]
        kept_scores = scores[rows]
    # rows: by group (video, then class), each group in its NMS order: the order their results are concatenated.
    kept_segments = segments[rows]
    if settings["voting_thresh"] > 0 and not multiclass:
        kept_segments = _voted(kept_segments, video[rows], segments, scores, counts, settings["voting_thresh"],
                               settings["voting_weighted_by_iou"])
    results = _best_per_video(rows, kept_segments, kept_scores, labels, video, counts, max_seg_num, videos)
    return results, [_vouched(result[1], best, max_seg_num) for result, best in zip(results, left_out_best.tolist())]


PRUNE_FACTOR = 5


def _pruned(candidates, scores, video, counts, keep):
    """The candidates of each video scoring at least its ``keep``-th best score (all of a video with fewer),
    and each video's best left-out score (-inf when none)."""
    best_left_out = torch.full((len(counts),), -torch.inf, dtype=torch.float64)
    threshold = torch.full((len(counts),), -torch.inf, dtype=scores.dtype, device=scores.device)
    first = 0
    for v, count in enumerate(counts):
        if count > keep:
            threshold[v] = torch.topk(scores[first:first + count], keep, sorted=False).values.min()
        first += count
    chosen = scores[candidates] >= threshold[video[candidates]]
    left_out = candidates[~chosen]
    if left_out.numel():
        best_left_out.scatter_reduce_(0, video[left_out].cpu(), scores[left_out].double().cpu(), "amax")
    return candidates[chosen], best_left_out


def _vouched(result_scores, best_left_out, max_seg_num):
    """Whether a pruned run's detections of a video are the full run's: none left out, or ``max_seg_num``
    detections all scoring above every left-out candidate, without two equal scores."""
    if best_left_out == -float("inf"):
        return True
    return (result_scores.shape[0] == max_seg_num and float(result_scores[-1]) > best_left_out
            and bool((result_scores[1:] != result_scores[:-1]).all()))


def _hard_nms_rows(segments, scores, group, one_group, iou_threshold, max_seg_num):
    """Kept rows, grouped (ascending group), each group in NMS order, at most ``max_seg_num`` per group when
    it is positive. Suppression at IoU >= threshold with their IoU (in the segments' dtype, float32 for them).
    ``one_group``: every row is of one group (then the op needs no group ids)."""
    keep = temporal_nms(segments, scores, iou_threshold, None if one_group else group, suppress_at_threshold=True,
                        union_epsilon=UNION_EPSILON)
    if one_group:
        return keep[:max_seg_num] if max_seg_num > 0 else keep
    keep = keep[torch.sort(group[keep], stable=True).indices]  # by group, NMS order within
    return keep[_first_per_group(group[keep], max_seg_num)] if max_seg_num > 0 else keep


def _soft_nms_rows(segments, scores, group, one_group, iou_threshold, min_score, max_seg_num, sigma, method,
                   improved_gaussian):
    """Selected rows and their decayed scores, grouped, each group in selection order. Their soft-NMS always
    selects a group's best segment, even below ``min_score``. ``one_group`` as for :func:`_hard_nms_rows`."""
    max_keep = max_seg_num if max_seg_num > 0 else None
    if method == 3:
        rows, decayed = improved_gaussian_soft_nms(segments, scores, group, sigma, *improved_gaussian, min_score,
                                                   max_keep)
    else:
        threshold = iou_threshold
        if method in (0, 1):  # they decay at IoU >= threshold (as a float32), ptal at IoU > threshold
            if segments.dtype == torch.float32:
                threshold = float(np.float32(threshold))
            threshold = float(np.nextafter(threshold, -np.inf))
        _, decayed, rows = soft_nms(segments, scores, None if one_group else group, method=SOFT_METHODS[method],
                                    sigma=sigma, iou_threshold=min(max(threshold, 0.0), 1.0), min_score=min_score,
                                    max_keep=max_keep, union_epsilon=UNION_EPSILON, grouped=True)
    if one_group:
        unselected = group[:1] if rows.numel() == 0 else group[:0]
    else:
        unselected = _groups_without(group, group[rows])
    if unselected.numel() == 0:
        return rows, decayed
    best = _best_row_of_groups(scores, group, unselected)
    rows, decayed = torch.cat([rows, best]), torch.cat([decayed, scores[best]])
    by_group = torch.sort(group[rows], stable=True).indices  # selection order (decreasing score) within a group
    return rows[by_group], decayed[by_group]


def _group_order(group):
    """A stable sort of rows by group: NumPy's radix sort when the group ids fit 16 bits (a test set's videos x
    classes usually do), several times faster than a comparison sort of millions of rows."""
    if group.numel() and group.device.type == "cpu" and int(group.max()) < 2**15:
        return torch.from_numpy(np.argsort(group.to(torch.int16).numpy(), kind="stable"))
    return torch.sort(group, stable=True).indices


def _class_ranks(labels):
    """(number of ranks, the rank of each label): labels numbered 0, 1, ... in increasing order (shifted by the
    smallest when their range is small, else through torch.unique)."""
    low, high = int(labels.min()), int(labels.max())
    if high - low < max(4096, labels.numel()):
        return high - low + 1, labels.long() - low
    classes, rank = torch.unique(labels, return_inverse=True)
    return classes.numel(), rank


def improved_gaussian_soft_nms(segments, scores, group, sigma, t1, t2, min_score, max_keep):
    """Soft-NMS with BMN's improved Gaussian decay (OpenTAD's method 3), per group, with ``ptal.ops.soft_nms``'s
    rules (select the highest current score, ties by lower row; stop below ``min_score`` or at ``max_keep``):
    a segment's score is multiplied by ``exp(-IoU^2 / sigma)`` only where IoU >= ``t1 + t2 * (length of the
    selected segment + 1e-6)`` (their threshold; their IoU, in float64). Returns (rows, decayed scores), grouped, each
    group in selection order."""
    order = torch.sort(group, stable=True).indices
    offsets = torch.searchsorted(group[order], torch.arange(int(group.max()) + 2, device=group.device))
    rows, decayed = _improved_gaussian(segments[order].double().cpu().numpy(), scores[order].double().cpu().numpy(),
                                       offsets.cpu().numpy(), sigma, t1, t2, min_score,
                                       -1 if max_keep is None else max_keep)
    rows = order[torch.from_numpy(rows).to(order.device)]
    return rows, torch.from_numpy(decayed).to(scores.dtype).to(scores.device)


@numba.njit(cache=True)
def _improved_gaussian(segments, scores, offsets, sigma, t1, t2, min_score, max_keep):
    kept_rows = np.empty(scores.shape[0], dtype=np.int64)
    kept_scores = np.empty(scores.shape[0])
    n = 0
    for g in range(offsets.shape[0] - 1):
        current = scores[offsets[g]:offsets[g + 1]].copy()
        remaining = np.ones(current.shape[0], dtype=np.bool_)
        count = 0
        while max_keep < 0 or count < max_keep:
            best = -1
            for i in range(current.shape[0]):
                if remaining[i] and (best < 0 or current[i] > current[best]):
                    best = i
            if best < 0 or current[best] < min_score:
                break
            remaining[best] = False
            kept_rows[n] = offsets[g] + best
            kept_scores[n] = current[best]
            n += 1
            count += 1
            s, e = segments[offsets[g] + best, 0], segments[offsets[g] + best, 1]
            threshold = t1 + t2 * (e - s + UNION_EPSILON)
            for i in range(current.shape[0]):
                if not remaining[i]:
                    continue
                si, ei = segments[offsets[g] + i, 0], segments[offsets[g] + i, 1]
                inter = max(min(e, ei) - max(s, si), 0.0)
                union = (e - s + UNION_EPSILON) + (ei - si + UNION_EPSILON) - inter
                iou = inter / union if union > 0 else 0.0
                if iou >= threshold:
                    current[i] *= np.exp(-(iou * iou) / sigma)
    return kept_rows[:n], kept_scores[:n]


def _groups_without(group, selected_groups):
    """The groups that have rows but no selection."""
    size = int(group.max()) + 1
    rows = torch.bincount(group, minlength=size)
    selections = torch.bincount(selected_groups, minlength=size)
    return torch.nonzero((rows > 0) & (selections == 0)).flatten()


def _best_row_of_groups(scores, group, wanted):
    """For each group in ``wanted``, its row of highest score (ties: the lowest row)."""
    rows = torch.nonzero(torch.isin(group, wanted)).flatten()
    order = rows[torch.sort(scores[rows], descending=True, stable=True).indices]
    order = order[torch.sort(group[order], stable=True).indices]
    return order[_first_per_group(group[order], 1)]


def _first_per_group(group, n):
    """Mask of the first ``n`` rows of each group in a grouped (sorted) sequence."""
    starts = torch.ones_like(group, dtype=torch.bool)
    starts[1:] = group[1:] != group[:-1]
    first = torch.cummax(torch.where(starts, torch.arange(group.numel(), device=group.device), 0), 0).values
    return torch.arange(group.numel(), device=group.device) - first < n


def _voted(kept_segments, kept_video, segments, scores, counts, threshold, weighted_by_iou):
    """Score voting: each kept segment becomes the weighted mean of its video's candidates that overlap it with
    IoU >= ``threshold``, weight ``score * IoU`` (ActionFormer) or ``score`` (OpenTAD). The IoU test and weights
    use the originals' arithmetic in the segments' dtype, the weighted sums are taken in float64. ``counts``:
    each video's number of candidates (the rows of ``segments`` are the videos' one after another)."""
    if kept_segments.shape[0] == 0:
        return kept_segments
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    kept_video = kept_video.cpu().numpy()
    kept_offsets = np.searchsorted(kept_video, np.arange(len(counts) + 1))  # kept rows come grouped by video
    segments = segments.cpu().numpy()
    voted = _vote(kept_segments.cpu().numpy(), kept_offsets, segments, scores.cpu().numpy(), offsets,
                  segments.dtype.type(threshold), weighted_by_iou)
    return torch.from_numpy(voted).to(kept_segments.dtype).to(kept_segments.device)


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _vote(kept, kept_offsets, segments, scores, offsets, threshold, weighted_by_iou):
    # Only candidates whose start and end both lie within length * (1 - t) / t of a kept segment's can reach IoU t
    # with it: each kept segment looks at the window of its video's candidates sorted by start, and skips those
    # whose end is too far. Videos in parallel.
    voted = np.empty(kept.shape, dtype=np.float64)
    reach_factor = (1.0 - float(threshold)) / float(threshold) * 1.001
    for video in numba.prange(kept_offsets.shape[0] - 1):
        if kept_offsets[video] == kept_offsets[video + 1]:
            continue
        first = offsets[video]
        by_start = first + np.argsort(segments[first:offsets[video + 1], 0], kind="mergesort")
        starts = segments[by_start, 0].astype(np.float64)
        for k in range(kept_offsets[video], kept_offsets[video + 1]):
            s, e = kept[k, 0], kept[k, 1]
            reach = float(e - s) * reach_factor + 1e-6
            lo = np.searchsorted(starts, float(s) - reach, side="left")
            hi = np.searchsorted(starts, float(s) + reach, side="right")
            total, start_sum, end_sum = 0.0, 0.0, 0.0
            for position in range(lo, hi):
                j = by_start[position]
                sj, ej = segments[j, 0], segments[j, 1]
                if abs(float(ej) - float(e)) > reach:
                    continue
                inter = min(e, ej) - max(s, sj)
                if inter < 0:
                    inter = inter - inter  # zero of the segments' dtype
                iou = inter / ((e - s) + (ej - sj) - inter)
                weight = scores[j] if iou >= threshold else scores[j] - scores[j]
                if weighted_by_iou:
                    weight = weight * iou
                total += float(weight)
                start_sum += float(weight) * float(sj)
                end_sum += float(weight) * float(ej)
            voted[k, 0] = start_sum / total
            voted[k, 1] = end_sum / total
    return voted


def _best_per_video(rows, kept_segments, kept_scores, labels, video, counts, max_seg_num, videos):
    """Each video's detections by decreasing score, the first ``max_seg_num``. Equal scores keep the order of
    ``torch.sort(descending=True)`` on the video's concatenated results, as the originals sort them."""
    if len(counts) == 1:  # one video: their sort
        if counts[0] == 0:
            return [_empty(videos[0][2])]
        take = torch.sort(kept_scores, descending=True).indices[:max(0, min(max_seg_num, rows.numel()))]
        return [(kept_segments[take], kept_scores[take], labels[rows[take]])]
    kept_video = video[rows]
    same_video = kept_video[1:] == kept_video[:-1]
    if bool((~same_video | (kept_scores[1:] <= kept_scores[:-1])).all()):  # already (class-agnostic runs)
        order = torch.arange(rows.numel(), device=rows.device)
    else:
        order = torch.sort(kept_scores, descending=True, stable=True).indices
        order = order[torch.sort(kept_video[order], stable=True).indices]
    sorted_video, sorted_scores = kept_video[order], kept_scores[order]
    tied = (sorted_video[1:] == sorted_video[:-1]) & (sorted_scores[1:] == sorted_scores[:-1])
    offsets = torch.searchsorted(kept_video, torch.arange(len(counts) + 1, device=rows.device)).tolist()
    for v in torch.unique(sorted_video[1:][tied]).tolist():
        a, b = offsets[v], offsets[v + 1]
        order[a:b] = a + torch.sort(kept_scores[a:b], descending=True).indices
    sizes = [min(max_seg_num, b - a) if count else 0 for a, b, count in zip(offsets, offsets[1:], counts)]
    rank = torch.arange(order.numel(), device=rows.device) - torch.tensor(offsets[:-1], device=rows.device)[sorted_video]
    take = order[rank < torch.tensor(sizes, device=rows.device)[sorted_video]]  # each video's first sizes[v]
    out = zip(torch.split(kept_segments[take], sizes), torch.split(kept_scores[take], sizes),
              torch.split(labels[rows[take]], sizes))
    return [_empty(video_labels) if count == 0 else result
            for result, count, (_, _, video_labels) in zip(out, counts, videos)]


def _empty(labels):
    return torch.zeros([0, 2]), torch.zeros([0]), torch.zeros([0], dtype=labels.dtype)


def checked_video(segments, scores, labels, where: str):
    """One video's (segments (N, 2), scores (N,), labels (N,)) as tensors (NumPy arrays are taken too), or a
    ValueError/TypeError naming the video and the argument."""
    segments, scores, labels = (torch.as_tensor(value) for value in (segments, scores, labels))
    if segments.dim() != 2 or segments.shape[1] != 2 or not segments.is_floating_point():
        raise ValueError(f"{where}: segs must be a float (N, 2) tensor, got {segments.dtype} {tuple(segments.shape)}")
    if segments.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{where}: segs must be float32 or float64, got {segments.dtype}")
    if scores.shape != (segments.shape[0],) or scores.dtype != segments.dtype:
        raise ValueError(f"{where}: scores must have shape ({segments.shape[0]},) and the dtype of segs "
                         f"({segments.dtype}), got {scores.dtype} {tuple(scores.shape)}")
    if labels.shape != (segments.shape[0],) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"{where}: cls_idxs must be an integer ({segments.shape[0]},) tensor, got {labels.dtype} "
                         f"{tuple(labels.shape)}")
    return segments, scores, labels
