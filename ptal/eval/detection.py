"""Temporal action detection mAP with the semantics of the official ActivityNet evaluation.

The official code (``Evaluation/eval_detection.py`` of activitynet/ActivityNet, reused by LACP and
ActionFormer) loops over predictions in Python, once per class; here the tIoUs, the greedy matching and
the AP of every class at every tIoU threshold run compiled with numba, all thresholds in one pass.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np

from ptal.data.activitynet import (JsonDocument, Segments, SubsetChoice, choose_subset, load_ground_truth,
                                   load_predictions, predicted_video_ids, read_json_document)

DEFAULT_TIOU_THRESHOLDS = np.linspace(0.1, 0.7, 7)

# Averages of mAP over tIoU grids that papers quote: THUMOS14 (0.1:0.5, 0.3:0.7, 0.1:0.7) and ActivityNet (0.5:0.95).
AVERAGE_GRIDS = {
    "0.1:0.5": np.linspace(0.1, 0.5, 5),
    "0.3:0.7": np.linspace(0.3, 0.7, 5),
    "0.1:0.7": np.linspace(0.1, 0.7, 7),
    "0.5:0.95": np.linspace(0.5, 0.95, 10),
}
_GRID_TOLERANCE = 1e-9
_ARRAY_COLUMNS = ("video", "start", "end", "label")
TIE_ORDERS = ("stable", "official")


@dataclass(frozen=True)
class DetectionResult:
    """Detection AP of C classes at S tIoU thresholds.

    Attributes:
        tiou_thresholds: (S,) the thresholds.
        map: (S,) mean AP over the classes that have ground truth.
        ap: (C, S) AP per class; NaN for a class without ground-truth instances (not scored).
        class_names: the C classes (the ground truth's class list).
        averages: mean of ``map`` over each grid of ``AVERAGE_GRIDS`` (e.g. ``"0.1:0.5"``) whose
            thresholds are all in ``tiou_thresholds``.
        subset: which videos of JSON ground truth were evaluated, and why; None for ground truth given as
            Segments or arrays.
    """

    tiou_thresholds: np.ndarray
    map: np.ndarray
    ap: np.ndarray
    class_names: list[str]
    averages: dict[str, float]
    subset: SubsetChoice | None = None

    def table(self, per_class: bool = False) -> str:
        """mAP (in %) per threshold, then the averages; with ``per_class``, one AP row per class too."""
        name_width = max([len("tIoU"), *(len(name) for name in self.class_names if per_class)])
        header = f"{'tIoU':<{name_width}} " + " ".join(f"{t:>6.2f}" for t in self.tiou_thresholds)
        rows = [header, "-" * len(header), _percent_row("mAP", self.map, name_width)]
        if per_class:
            rows += [_percent_row(name, ap, name_width) for name, ap in zip(self.class_names, self.ap)]
        if self.averages:
            rows.append("average mAP " + ", ".join(f"[{grid}] {100 * value:.2f}"
                                                   for grid, value in self.averages.items()))
        return "\n".join(rows)

    def to_dict(self) -> dict:
        """A JSON-able dict; the AP of a class without ground truth is None, and so is the subset of every video."""
        return {
            "subset": None if self.subset is None else self.subset.name,
            "tiou_thresholds": self.tiou_thresholds.tolist(),
            "map": self.map.tolist(),
            "averages": dict(self.averages),
            "ap": {name: None if np.isnan(ap).all() else ap.tolist() for name, ap in zip(self.class_names, self.ap)},
        }


def detection_map(ground_truth, predictions, tiou_thresholds=DEFAULT_TIOU_THRESHOLDS,
                  subset: str | None = None, *, ties: str = "stable") -> DetectionResult:
    """Interpolated average precision per class and its mean, as the official ActivityNet evaluation.

    For each class, predictions are taken by decreasing score; each is a true positive at threshold t
    when some ground-truth segment of its video and class, not yet matched at t, has tIoU >= t with it,
    and it then takes (locks) the one with the highest tIoU; otherwise it is a false positive
    (a prediction on a video without ground truth of its class is a false positive). AP is the area
    under the precision-recall curve with precision made non-increasing from the right (VOC 2011).
    tIoU is intersection / union of continuous segments (lengths ``end - start``).

    Decisions where the official code is arbitrary or breaks down:

    * Equal scores: with ``ties="stable"`` (the default) ptal takes the earlier prediction (row order)
      first, and among ground-truth segments of equal tIoU it matches the earlier one. The official code
      orders each class's predictions (in file order) by NumPy's default, unstable ``argsort`` of their
      scores, reversed (``scores.argsort()[::-1]``), and a prediction's ground truth (in file order) by the
      same of their tIoUs, whose tie orders NumPy leaves unspecified; ``ties="official"`` makes those same
      NumPy calls, so that the numbers are bit-identical to the official code's, ties included. Both
      agree when there are no ties.
    * Two zero-length segments have tIoU 0 here; the official code computes 0/0 = NaN, which it
      counts as a match at every threshold.
    * Only classes with ground-truth instances are scored (the official class list is the labels found
      in the ground truth); a class of ``class_names`` without instances gets AP NaN, and predictions
      of it are ignored with a warning (the official code fails on them).

    Args:
        ground_truth: one of
            * a path to an ActivityNet ground-truth JSON file, or its parsed dict (``{"database": ...}``);
            * a :class:`~ptal.data.activitynet.Segments` without scores;
            * a mapping of equal-length 1-D arrays ``video``, ``start``, ``end``, ``label`` (K,), where
              ``video`` and ``label`` hold ids (ints or strings) shared with the predictions.
        predictions: one of
            * a path to an ActivityNet results JSON file, or its parsed dict (``{"results": ...}``);
            * a ``Segments`` with scores, matched to the ground truth by video id and class name;
            * a mapping of arrays as above plus ``score`` (K,).
        tiou_thresholds: (S,) thresholds in (0, 1].
        subset: which videos of JSON ground truth to evaluate (see
            :func:`~ptal.data.activitynet.choose_subset`; ``result.subset`` tells which were):

            * None (the default, as the official code's ``subset=None``): every video. When the predictions
              cover some subsets only, the others' ground truth counts as missed, which a warning says.
            * ``"auto"`` (what ``ptal eval`` does): the subset holding the predicted videos; a ValueError
              when they span several subsets.
            * a subset name, e.g. ``"test"`` (case is ignored); an unknown one is a ValueError listing the
              subsets.

            With ground truth given as Segments or arrays, only None and "auto" (every video) are allowed.
        ties: "stable" or "official" (see above).

    Returns:
        A :class:`DetectionResult` with ``ap`` (C, S) in the ground truth's class order.
    """
    thresholds = _thresholds(tiou_thresholds)
    if ties not in TIE_ORDERS:
        raise ValueError(f"ties must be one of {TIE_ORDERS}, got {ties!r}")
    ground_truth, predictions, subset = _evaluated_segments(ground_truth, predictions, subset)
    n_videos, n_classes = len(ground_truth.video_ids), len(ground_truth.class_names)
    positives = np.bincount(ground_truth.label, minlength=n_classes)

    pred_video, pred_label = _align(predictions, ground_truth)
    unscored = positives[pred_label] == 0
    if unscored.any():
        skipped = sorted({ground_truth.class_names[c] for c in pred_label[unscored]})
        warnings.warn(f"ignored {int(unscored.sum())} prediction(s) of classes without ground-truth instances: "
                      f"{', '.join(skipped)}", stacklevel=2)

    gt_group = ground_truth.label * n_videos + ground_truth.video
    gt_order = np.lexsort((ground_truth.start, gt_group))
    gt_group_offsets = np.searchsorted(gt_group[gt_order], np.arange(n_classes * n_videos + 1))
    candidate_offsets, candidate_gt, candidate_tiou = _candidates(
        predictions.start, predictions.end, pred_video, pred_label, ground_truth.start[gt_order],
        ground_truth.end[gt_order], gt_group_offsets, n_videos, positives, thresholds.min())
    if ties == "official":
        order = _official_order(predictions.score, pred_label)
        candidate_rank = _official_tiou_ranks(predictions, pred_video, pred_label, ground_truth, gt_order,
                                              gt_group_offsets, n_videos, candidate_offsets, candidate_gt,
                                              candidate_tiou)
    else:
        order, candidate_rank = _decreasing_score_order(predictions.score), gt_order[candidate_gt]
    tp_rank, tp_count = _match(order, pred_label, candidate_offsets, candidate_gt, candidate_tiou, candidate_rank,
                               positives, thresholds)
    if ties == "official":
        ap = _official_interpolated_ap(tp_rank, tp_count, positives)
        mean_ap = _official_mean(ap, ground_truth.label)
    else:
        ap = _interpolated_ap(tp_rank, tp_count, positives)
        mean_ap = ap[positives > 0].mean(axis=0)
    return DetectionResult(tiou_thresholds=thresholds, map=mean_ap, ap=ap, class_names=list(ground_truth.class_names),
                           averages=_averages(thresholds, mean_ap), subset=subset)


def _official_order(score: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Each class's rows (in row order) as the official code takes them: ``score.argsort()[::-1]``."""
    order = []
    for c in np.unique(label):
        rows = np.flatnonzero(label == c)
        order.append(rows[score[rows].argsort()[::-1]])
    return np.concatenate(order) if order else np.zeros(0, dtype=np.int64)


def _official_tiou_ranks(predictions, pred_video, pred_label, ground_truth, gt_order, gt_group_offsets, n_videos,
                         candidate_offsets, candidate_gt, candidate_tiou) -> np.ndarray:
    """The rank of every candidate in the official order of its prediction's ground truth: ``tiou.argsort()
    [::-1]`` over the ground truth of the prediction's video and class in file order. Only predictions with
    equal tIoUs among their candidates need it; the others get any consistent rank (their row)."""
    rank = gt_order[candidate_gt].copy()
    for i in np.flatnonzero(_has_tied_candidates(candidate_offsets, candidate_tiou)):
        group = pred_label[i] * n_videos + pred_video[i]
        rows = np.sort(gt_order[gt_group_offsets[group]:gt_group_offsets[group + 1]])  # file order
        start, end = ground_truth.start[rows], ground_truth.end[rows]
        intersection = (np.minimum(predictions.end[i], end) - np.maximum(predictions.start[i], start)).clip(0)
        union = (end - start) + (predictions.end[i] - predictions.start[i]) - intersection
        with np.errstate(invalid="ignore", divide="ignore"):
            official = rows[(intersection / union).argsort()[::-1]]
        position = {row: r for r, row in enumerate(official.tolist())}
        for m in range(candidate_offsets[i], candidate_offsets[i + 1]):
            rank[m] = position[gt_order[candidate_gt[m]]]
    return rank


@numba.njit(cache=True)
def _has_tied_candidates(candidate_offsets, candidate_tiou):
    """(P,) bool: some two candidates of the prediction have the same tIoU."""
    n = candidate_offsets.shape[0] - 1
    tied = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        for a in range(candidate_offsets[i], candidate_offsets[i + 1]):
            for b in range(a + 1, candidate_offsets[i + 1]):
                if candidate_tiou[a] == candidate_tiou[b]:
                    tied[i] = True
    return tied


def _decreasing_score_order(score: np.ndarray) -> np.ndarray:
    """Rows by decreasing score, equal scores in row order (a stable sort of -score), several times faster."""
    order = np.argsort(-score)
    sorted_score = score[order]
    if (sorted_score[1:] == sorted_score[:-1]).any():
        order = np.argsort(-score, kind="stable")  # the fast sort may permute equal scores
    return order


@numba.njit(cache=True)
def _candidates(pred_start, pred_end, pred_video, pred_label, gt_start, gt_end, gt_group_offsets, n_videos, positives,
                min_threshold):
    """The ground truth that each prediction reaches with tIoU >= ``min_threshold``, in CSR form.

    Predictions (P,); ``pred_video`` >= ``n_videos`` is a video without ground truth. Ground truth (G,),
    sorted by (class, video, start): group ``g = class * n_videos + video`` is rows
    ``gt_group_offsets[g]:gt_group_offsets[g + 1]``. ``positives`` (C,) counts each class's ground truth.

    Returns:
        offsets (P + 1,): prediction i's candidates are ``offsets[i]:offsets[i + 1]`` of
        gt (N,), their ground-truth rows, and tiou (N,), their tIoU.
    """
    n_predictions = pred_start.shape[0]
    offsets = np.zeros(n_predictions + 1, dtype=np.int64)
    gt = np.empty(max(n_predictions, 16), dtype=np.int64)
    tiou = np.empty(gt.shape[0])
    n = 0
    # Rows in input order: consecutive predictions usually share a video, whose ground truth stays in cache.
    for i in range(n_predictions):
        offsets[i] = n
        if pred_video[i] >= n_videos or positives[pred_label[i]] == 0:
            continue
        group = pred_label[i] * n_videos + pred_video[i]
        start, end = pred_start[i], pred_end[i]
        for j in range(gt_group_offsets[group], gt_group_offsets[group + 1]):
            if gt_start[j] >= end:
                break  # this and the later ones start after the prediction
            intersection = min(end, gt_end[j]) - max(start, gt_start[j])
            if intersection <= 0.0:
                continue  # tIoU 0, below every threshold
            # The official operand order, so that tIoUs equal to a threshold compare identically.
            value = intersection / ((gt_end[j] - gt_start[j]) + (end - start) - intersection)
            if value >= min_threshold:
                if n == gt.shape[0]:
                    gt = np.concatenate((gt, np.empty_like(gt)))
                    tiou = np.concatenate((tiou, np.empty_like(tiou)))
                gt[n] = j
                tiou[n] = value
                n += 1
    offsets[n_predictions] = n
    return offsets, gt[:n], tiou[:n]


@numba.njit(cache=True)
def _match(order, pred_label, candidate_offsets, candidate_gt, candidate_tiou, candidate_rank, positives,
           thresholds):
    """Greedy matching, predictions by decreasing score (``order``): at each threshold a prediction takes
    its not yet taken candidate of highest tIoU >= the threshold (equal tIoUs: lowest ``candidate_rank``).

    Returns:
        tp_rank (S, G): at threshold s, class c's n-th true positive is its ``tp_rank[s, c_first + n]``-th
        prediction by score (1-based), where c_first = number of ground truth of the classes before c;
        tp_count (C, S): true positives per class and threshold.
    """
    n_thresholds, n_classes = thresholds.shape[0], positives.shape[0]
    class_first = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(positives)[:-1]))
    n_gt = positives.sum()
    tp_rank = np.zeros((n_thresholds, n_gt), dtype=np.int64)
    tp_count = np.zeros((n_classes, n_thresholds), dtype=np.int64)
    taken = np.zeros((n_thresholds, n_gt), dtype=np.bool_)
    seen = np.zeros(n_classes, dtype=np.int64)
    for i in order:
        c = pred_label[i]
        if positives[c] == 0:
            continue
        seen[c] += 1
        first, stop = candidate_offsets[i], candidate_offsets[i + 1]
        if first == stop:
            continue
        for s in range(n_thresholds):
            best = -1
            for m in range(first, stop):
                j = candidate_gt[m]
                if taken[s, j] or candidate_tiou[m] < thresholds[s]:
                    continue
                if best < 0 or candidate_tiou[m] > candidate_tiou[best] or (
                        candidate_tiou[m] == candidate_tiou[best] and candidate_rank[m] < candidate_rank[best]):
                    best = m
            if best >= 0:
                taken[s, candidate_gt[best]] = True
                tp_rank[s, class_first[c] + tp_count[c, s]] = seen[c]
                tp_count[c, s] += 1
    return tp_rank, tp_count


@numba.njit(cache=True)
def _interpolated_ap(tp_rank, tp_count, positives):
    """(C, S) AP from the ranks of the true positives (see ``_match``); NaN for a class without positives.

    The official ``interpolated_prec_rec`` (VOC 2011) sums, over the recall steps, the step times the
    best precision at that recall or beyond. Recall steps are the true positives, and the best precision
    beyond one is reached at a true positive (a false positive only lowers it), so only they are visited.
    """
    n_classes, n_thresholds = tp_count.shape
    ap = np.full((n_classes, n_thresholds), np.nan)
    first = 0
    for c in range(n_classes):
        if positives[c] > 0:
            for s in range(n_thresholds):
                total = 0.0
                best_precision = 0.0
                for n in range(tp_count[c, s], 0, -1):
                    best_precision = max(best_precision, n / tp_rank[s, first + n - 1])
                    total += (n / positives[c] - (n - 1) / positives[c]) * best_precision
                ap[c, s] = total
        first += positives[c]
    return ap


def _official_interpolated_ap(tp_rank, tp_count, positives) -> np.ndarray:
    """(C, S) AP summed as the official ``interpolated_prec_rec`` does, bit for bit: ``np.sum`` of its steps,
    one per true positive (recall step times the best precision from there on) and a last one, 0, up to
    recall 1."""
    ap = np.full(tp_count.shape, np.nan)
    class_first = np.concatenate(([0], np.cumsum(positives)[:-1]))
    for c in np.flatnonzero(positives):
        for s, count in enumerate(tp_count[c]):
            n = np.arange(1, count + 1)
            best_precision = np.maximum.accumulate((n / tp_rank[s, class_first[c]:class_first[c] + count])[::-1])[::-1]
            steps = (n / positives[c] - (n - 1) / positives[c]) * best_precision
            if count < positives[c]:
                steps = np.append(steps, (1.0 - count / positives[c]) * 0.0)
            ap[c, s] = np.sum(steps)
    return ap


def _official_mean(ap: np.ndarray, gt_label: np.ndarray) -> np.ndarray:
    """(S,) mean AP over the classes as the official code takes it: ``ap.mean(axis=1)`` of an (S, C) array
    whose classes are in order of first appearance in the ground truth (file order)."""
    first_seen = gt_label[np.sort(np.unique(gt_label, return_index=True)[1])]
    return np.ascontiguousarray(ap[first_seen].T).mean(axis=1)


def _thresholds(value) -> np.ndarray:
    thresholds = np.array(value, dtype=np.float64, ndmin=1)
    if thresholds.ndim != 1 or thresholds.size == 0:
        raise ValueError(f"tiou_thresholds must be a non-empty 1-D sequence, got shape {thresholds.shape}")
    if not (np.isfinite(thresholds).all() and (thresholds > 0).all() and (thresholds <= 1).all()):
        raise ValueError(f"tiou_thresholds must lie in (0, 1], got {thresholds.tolist()}")
    return thresholds


def _evaluated_segments(ground_truth, predictions, subset: str | None
                        ) -> tuple[Segments, Segments, SubsetChoice | None]:
    """The ground truth and the predictions to evaluate, and the subset choice of JSON ground truth; each JSON
    file is read once."""
    if not _is_json_source(ground_truth, "database"):
        ground_truth = _ground_truth_segments(ground_truth)
        if subset not in (None, "auto"):
            raise ValueError(f"subset applies to JSON ground truth only, got subset={subset!r} with Segments or "
                             f"arrays; select their videos yourself")
        _check_positives(ground_truth)
        return ground_truth, _matched_predictions(_read_predictions(predictions), ground_truth), None
    ground_truth = read_json_document(ground_truth, "ground truth")
    predictions = _read_predictions(predictions)
    choice = choose_subset(ground_truth, _predicted_videos(predictions), subset)
    missed = [name for name, count in choice.predicted_counts.items() if count == 0]
    if choice.name is None and missed and len(missed) < len(choice.predicted_counts):
        warnings.warn(f"evaluating every video of {ground_truth.name}, but the predictions hold no video of "
                      f"subset{'s' if len(missed) > 1 else ''} {', '.join(missed)}, whose ground truth counts as "
                      f"missed; subset='auto' evaluates the predicted subset only", stacklevel=3)
    ground_truth = load_ground_truth(ground_truth, subset=choice.name)
    _check_positives(ground_truth)
    return ground_truth, _matched_predictions(predictions, ground_truth), choice


def _check_positives(ground_truth: Segments) -> None:
    if len(ground_truth) == 0:
        raise ValueError("ground_truth has no segments to evaluate")


def _ground_truth_segments(value) -> Segments:
    if isinstance(value, Segments):
        if value.score is not None:
            raise ValueError("ground_truth must be a Segments without scores (score is not None)")
        return value
    if isinstance(value, Mapping):
        return _segments_from_arrays(value, "ground_truth", with_score=False)
    raise TypeError(f"ground_truth must be a JSON path, a {{'database': ...}} dict, Segments or a mapping of arrays, "
                    f"got {type(value).__name__}")


def _read_predictions(value) -> JsonDocument | Segments:
    """JSON predictions read (their labels are resolved against the ground truth's classes later), the other
    forms checked and turned into a Segments."""
    if _is_json_source(value, "results"):
        return read_json_document(value, "predictions")
    if isinstance(value, Segments):
        if value.score is None:
            raise ValueError("predictions must be a Segments with scores (score is None)")
        return value
    if isinstance(value, Mapping):
        return _segments_from_arrays(value, "predictions", with_score=True)
    raise TypeError(f"predictions must be a JSON path, a {{'results': ...}} dict, Segments or a mapping of arrays, "
                    f"got {type(value).__name__}")


def _predicted_videos(predictions: JsonDocument | Segments) -> list[str]:
    """The ids of the predicted videos: a results file's videos, or a Segments' videos with rows."""
    if isinstance(predictions, JsonDocument):
        return predicted_video_ids(predictions)
    return [predictions.video_ids[video] for video in np.unique(predictions.video)]


def _matched_predictions(predictions: JsonDocument | Segments, ground_truth: Segments) -> Segments:
    if isinstance(predictions, JsonDocument):
        return load_predictions(predictions, ground_truth.video_ids, ground_truth.class_names)
    return predictions


def _is_json_source(value, top_key: str) -> bool:
    return (isinstance(value, (str, os.PathLike, JsonDocument))
            or (isinstance(value, Mapping) and top_key in value))


def _segments_from_arrays(columns: Mapping, name: str, with_score: bool) -> Segments:
    required = _ARRAY_COLUMNS + (("score",) if with_score else ())
    missing = [column for column in required if column not in columns]
    if missing:
        raise ValueError(f"{name} must be a JSON source or a mapping with arrays {required}, missing {missing}")
    lengths = {column: np.shape(columns[column]) for column in required}
    if len({shape for shape in lengths.values()}) > 1 or len(lengths["video"]) != 1:
        raise ValueError(f"{name} arrays must be 1-D with one length, got shapes {lengths}")
    video_ids, video = np.unique(np.asarray(columns["video"]), return_inverse=True)
    class_names, label = np.unique(np.asarray(columns["label"]), return_inverse=True)
    try:
        return Segments([str(v) for v in video_ids], [str(c) for c in class_names], video=video,
                        start=columns["start"], end=columns["end"], label=label,
                        score=columns["score"] if with_score else None)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: {error}") from None


def _align(predictions: Segments, ground_truth: Segments) -> tuple[np.ndarray, np.ndarray]:
    """Predictions' video and label as indices into the ground truth's lists; a video without ground
    truth gets an index >= the number of ground-truth videos."""
    n_videos = len(ground_truth.video_ids)
    video = predictions.video
    if predictions.video_ids[:n_videos] != ground_truth.video_ids:
        video_index = {video_id: i for i, video_id in enumerate(ground_truth.video_ids)}
        video_map = np.array([video_index.get(video_id, n_videos) for video_id in predictions.video_ids],
                             dtype=np.int64)
        video = video_map[video]
    label = predictions.label
    if predictions.class_names != ground_truth.class_names:
        class_index = {name: i for i, name in enumerate(ground_truth.class_names)}
        class_map = np.array([class_index.get(name, -1) for name in predictions.class_names], dtype=np.int64)
        label = class_map[label]
        if (label < 0).any():
            row = int(np.flatnonzero(label < 0)[0])
            raise ValueError(f"predictions row {row}: class {predictions.class_names[predictions.label[row]]!r} "
                             f"is not a ground-truth class")
    return video, label


def average_names(tiou_thresholds) -> list[str]:
    """The averages of ``AVERAGE_GRIDS`` whose grid the thresholds cover (those a result's ``averages`` holds)."""
    return list(_average_rows(_thresholds(tiou_thresholds)))


def _average_rows(thresholds: np.ndarray) -> dict[str, np.ndarray]:
    """Each covered grid's name -> the indices of its thresholds."""
    rows = {}
    for name, grid in AVERAGE_GRIDS.items():
        matches = np.abs(thresholds[None, :] - grid[:, None]) <= _GRID_TOLERANCE
        if matches.any(axis=1).all():
            rows[name] = matches.argmax(axis=1)
    return rows


def _averages(thresholds: np.ndarray, mean_ap: np.ndarray) -> dict[str, float]:
    return {name: float(mean_ap[rows].mean()) for name, rows in _average_rows(thresholds).items()}


def _percent_row(name: str, values: np.ndarray, width: int) -> str:
    return f"{name:<{width}} " + " ".join("     -" if np.isnan(v) else f"{100 * v:>6.2f}" for v in values)
