"""What ActionFormer's ``ANETdetection`` and OpenTAD's ``mAP`` evaluator share: ground-truth cleaning, the AP
of ptal's evaluation with the official code's tie orders, and top-kx recall."""
from __future__ import annotations

import numbers

import numpy as np

from ptal.data.activitynet import JsonDocument, json_field, json_number
from ptal.eval.detection import detection_map


def video_entries(document: JsonDocument, key: str, kind: type) -> list[tuple[str, str, object]]:
    """``(video, where, entry)`` of each video of ``document[key]`` (an object of videos), each entry checked to
    be a ``kind`` (``where`` names the file and the video, for errors)."""
    name, content = document
    entries = []
    for video, entry in json_field(content, key, dict, name).items():
        where = f"{name}, video {video!r}"
        if not isinstance(entry, kind):
            raise ValueError(f"{where}: must be a JSON {'object' if kind is dict else 'list'}, got "
                             f"{type(entry).__name__}")
        entries.append((video, where, entry))
    return entries


def checked_rows(rows: list, where: str, labels: tuple[str, ...], score: str | None = None) -> list[dict]:
    """Each row an object with a ``segment`` of two finite numbers and the fields ``labels`` (a class name, an
    integer id or a list of ids) and ``score`` (a finite number), as ``{"segment": (start, end), label fields...,
    score}`` with the numbers as floats. Scored rows (predictions) must have end >= start; the originals drop
    ground-truth rows that do not."""
    checked = []
    for i, row in enumerate(rows):
        at = f"{where}, row {i}"
        if not isinstance(row, dict):
            raise ValueError(f"{at}: must be an object with 'segment', got {type(row).__name__}")
        segment = json_field(row, "segment", list, at)
        if len(segment) != 2:
            raise ValueError(f"{at}: segment must be [start, end], got {segment!r}")
        fields = {"segment": (json_number(segment[0], "segment start", at),
                              json_number(segment[1], "segment end", at))}
        for label in labels:
            fields[label] = _label(json_field(row, label, (str, int, list), at), label, at)
        if score is not None:
            fields[score] = json_number(row.get(score), score, at)
            if fields["segment"][1] < fields["segment"][0]:
                raise ValueError(f"{at}: segment end < start: {segment!r}")
        checked.append(fields)
    return checked


def _label(value, field: str, where: str):
    ids = value if isinstance(value, list) else [value]
    if any(isinstance(x, bool) or (isinstance(value, list) and not isinstance(x, numbers.Integral)) for x in ids):
        raise ValueError(f"{where}: field {field!r} must be a class name, an integer id or a list of ids, "
                         f"got {value!r}")
    return value


def kept_annotations(annotations: list, label_of, tolerance: float, keep_short) -> list:
    """The annotations of one video (rows of :func:`checked_rows`) that both originals keep: those
    ``keep_short(end - start)`` accepts and that do not repeat an already kept one of the same label (both
    bounds within ``tolerance``), in order."""
    kept, seen = [], []
    for annotation in annotations:
        start, end = annotation["segment"]
        if not keep_short(end - start):
            continue
        label = label_of(annotation)
        if any(abs(start - s) <= tolerance and abs(end - e) <= tolerance and label == lab for s, e, lab in seen):
            continue
        seen.append((start, end, label))
        kept.append(annotation)
    return kept


def average_precision(ground_truth: dict, predictions: dict, num_classes: int, tiou_thresholds) -> np.ndarray:
    """(S, C) interpolated AP of classes 0 .. C-1, as the official ActivityNet code (and both originals) compute
    it, equal scores and equal tIoUs taken in its order (``detection_map(..., ties="official")``); a class
    without predictions has AP 0. ``ground_truth``: arrays video, start, end, label (in file order);
    ``predictions``: the same plus score, labels in [0, C)."""
    ap = np.zeros((len(tiou_thresholds), num_classes))
    if num_classes == 0 or len(predictions["label"]) == 0:
        return ap
    result = detection_map(ground_truth, predictions, np.asarray(tiou_thresholds, dtype=np.float64),
                           ties="official")
    classes = np.array([int(name) for name in result.class_names])
    ap[:, classes] = np.nan_to_num(result.ap.T, nan=0.0)
    return ap


def top_k_recall(ground_truth: dict, predictions: dict, num_classes: int, tiou_thresholds, top_k,
                 union_floor: float = 0.0) -> np.ndarray:
    """(S, len(top_k), C) top-kx recall: the share of class c's ground truth that one of the k * G best
    predictions of class c in its video (G: the video's ground truth of class c) reaches with tIoU >= t.

    Predictions of a (class, video) are ranked by ``score.argsort()[::-1]`` in row order, the originals' call
    (made here only where equal scores straddle a cut; elsewhere a stable sort gives the same sets). A class
    without any prediction has recall 0. ``union_floor``: tIoU divides by max(union, floor) (OpenTAD: 1e-8)."""
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    top_k = [int(k) for k in top_k]
    recall = np.zeros((thresholds.size, len(top_k), num_classes))
    video_ids, gt_video = np.unique(np.asarray(ground_truth["video"]), return_inverse=True)
    gt_label = np.asarray(ground_truth["label"], dtype=np.int64)
    gt_group = gt_label * len(video_ids) + gt_video
    gt_order = np.argsort(gt_group, kind="stable")
    gt_offsets = np.searchsorted(gt_group[gt_order], np.arange(num_classes * len(video_ids) + 1))
    gt_count = np.diff(gt_offsets)

    lookup = {video: i for i, video in enumerate(video_ids.tolist())}
    pred_video = np.array([lookup.get(v, -1) for v in np.asarray(predictions["video"]).tolist()], dtype=np.int64)
    pred_label = np.asarray(predictions["label"], dtype=np.int64)
    score = np.asarray(predictions["score"], dtype=np.float64)
    has_predictions = np.bincount(pred_label, minlength=num_classes)[:num_classes] > 0
    inside = pred_video >= 0
    rows = np.flatnonzero(inside)
    group = pred_label[rows] * len(video_ids) + pred_video[rows]
    rows = rows[np.lexsort((-score[rows], group))]  # by (class, video), then score, ties by row
    group = pred_label[rows] * len(video_ids) + pred_video[rows]
    group_first = np.searchsorted(group, group)
    rank = np.arange(rows.size) - group_first
    rows = _official_cut_order(rows, group, group_first, score, gt_count, top_k)
    limit = max(top_k) * gt_count[group]
    chosen = rank < limit
    rows, group, rank = rows[chosen], group[chosen], rank[chosen]

    # Pairs (prediction, ground truth of its class and video).
    pairs = gt_count[group]
    pair_row = np.repeat(np.arange(rows.size), pairs)
    pair_gt = gt_order[np.repeat(gt_offsets[group], pairs) + np.arange(pair_row.size)
                       - np.repeat(np.cumsum(pairs) - pairs, pairs)]
    p_start = np.asarray(predictions["start"], dtype=np.float64)[rows][pair_row]
    p_end = np.asarray(predictions["end"], dtype=np.float64)[rows][pair_row]
    g_start = np.asarray(ground_truth["start"], dtype=np.float64)[pair_gt]
    g_end = np.asarray(ground_truth["end"], dtype=np.float64)[pair_gt]
    intersection = (np.minimum(p_end, g_end) - np.maximum(p_start, g_start)).clip(0)
    union = (g_end - g_start) + (p_end - p_start) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        tiou = intersection / (np.maximum(union, union_floor) if union_floor else union)
    pair_rank = rank[pair_row]
    for s, threshold in enumerate(thresholds):
        best = np.full(gt_label.size, np.iinfo(np.int64).max)
        reached = tiou >= threshold
        np.minimum.at(best, pair_gt[reached], pair_rank[reached])
        gt_limit = gt_count[gt_group]
        for kk, k in enumerate(top_k):
            hit = np.bincount(gt_label[best < k * gt_limit], minlength=num_classes)[:num_classes]
            recall[s, kk] = hit
    positives = np.bincount(gt_label, minlength=num_classes)[:num_classes]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(has_predictions, recall / positives, 0.0)
    return recall


def _official_cut_order(rows, group, group_first, score, gt_count, top_k):
    """``rows`` (grouped, each group by decreasing score, ties by row) with the groups where equal scores
    straddle a top-kx cut reordered by the originals' ``argsort()[::-1]`` (which decides which of them count)."""
    rank = np.arange(rows.size) - group_first
    straddles = np.zeros(rows.size, dtype=bool)
    following = np.append(group[1:] == group[:-1], False)
    equal_next = np.append(score[rows][1:] == score[rows][:-1], False) & following
    for k in top_k:
        straddles |= equal_next & (rank == k * gt_count[group] - 1)
    for g in np.unique(group[straddles]):
        members = np.flatnonzero(group == g)
        in_row_order = np.sort(rows[members])
        rows[members] = in_row_order[score[in_row_order].argsort()[::-1]]
    return rows


def class_arrays(video, start, end, label, score=None) -> dict:
    """The column arrays of ptal's evaluation."""
    columns = {"video": np.asarray(video, dtype=object).astype(str), "start": np.asarray(start, dtype=np.float64),
               "end": np.asarray(end, dtype=np.float64), "label": np.asarray(label, dtype=np.int64)}
    if score is not None:
        columns["score"] = np.asarray(score, dtype=np.float64)
    return columns
