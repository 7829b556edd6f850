"""The test oracle: the official ActivityNet detection evaluation, re-implemented plainly.

It follows the structure of ``ANETdetection`` (activitynet/ActivityNet ``Evaluation/eval_detection.py``,
as reused by LACP): classes indexed in order of first appearance in the ground truth, one Python loop
over the score-sorted predictions of each class, ``argsort()[::-1]`` orderings, NaN tIoU for two
zero-length segments. It reads the JSON documents directly and trusts them (no validation).
"""
from __future__ import annotations

import numpy as np


def evaluate(ground_truth: dict, predictions: dict, tiou_thresholds, subset: str | None = None):
    """Returns (class names in the official order, AP (S, C), mAP (S,))."""
    tiou_thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    class_index: dict[str, int] = {}
    gt_rows = []  # (video id, start, end, class index)
    for video_id, entry in ground_truth["database"].items():
        if subset is not None and entry["subset"] != subset:
            continue
        for annotation in entry["annotations"]:
            label = class_index.setdefault(annotation["label"], len(class_index))
            gt_rows.append((video_id, float(annotation["segment"][0]), float(annotation["segment"][1]), label))
    pred_rows = []  # (video id, start, end, class index, score)
    for video_id, results in predictions["results"].items():
        for result in results:
            pred_rows.append((video_id, float(result["segment"][0]), float(result["segment"][1]),
                              class_index[result["label"]], float(result["score"])))

    ap = np.zeros((len(tiou_thresholds), len(class_index)))
    for label in class_index.values():
        class_gt = [row for row in gt_rows if row[3] == label]
        class_predictions = [row for row in pred_rows if row[3] == label]
        ap[:, label] = class_average_precision(class_gt, class_predictions, tiou_thresholds)
    return list(class_index), ap, ap.mean(axis=1)


def class_average_precision(ground_truth: list, predictions: list, tiou_thresholds: np.ndarray) -> np.ndarray:
    """AP (S,) of one class; rows as in :func:`evaluate`."""
    ap = np.zeros(len(tiou_thresholds))
    if not predictions:
        return ap
    positives = float(len(ground_truth))
    locked_by = np.full((len(tiou_thresholds), len(ground_truth)), -1)
    order = np.array([row[4] for row in predictions]).argsort()[::-1]
    predictions = [predictions[i] for i in order]
    tp = np.zeros((len(tiou_thresholds), len(predictions)))
    fp = np.zeros((len(tiou_thresholds), len(predictions)))

    gt_of_video: dict[str, list[int]] = {}
    for gt_index, row in enumerate(ground_truth):
        gt_of_video.setdefault(row[0], []).append(gt_index)

    for idx, (video_id, start, end, _, _) in enumerate(predictions):
        if video_id not in gt_of_video:
            fp[:, idx] = 1
            continue
        candidates = gt_of_video[video_id]
        tiou = segment_iou(np.array([start, end]), np.array([ground_truth[i][1:3] for i in candidates]))
        by_decreasing_tiou = tiou.argsort()[::-1]
        for tidx, threshold in enumerate(tiou_thresholds):
            for jdx in by_decreasing_tiou:
                if tiou[jdx] < threshold:
                    fp[tidx, idx] = 1
                    break
                if locked_by[tidx, candidates[jdx]] >= 0:
                    continue
                tp[tidx, idx] = 1
                locked_by[tidx, candidates[jdx]] = idx
                break
            if fp[tidx, idx] == 0 and tp[tidx, idx] == 0:
                fp[tidx, idx] = 1

    tp_cumsum = np.cumsum(tp, axis=1)
    fp_cumsum = np.cumsum(fp, axis=1)
    recall = tp_cumsum / positives
    precision = tp_cumsum / (tp_cumsum + fp_cumsum)
    for tidx in range(len(tiou_thresholds)):
        ap[tidx] = interpolated_prec_rec(precision[tidx], recall[tidx])
    return ap


def segment_iou(target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """tIoU (N,) of one [start, end] segment with (N, 2) candidates; 0/0 gives NaN as in the official code."""
    intersection = (np.minimum(target[1], candidates[:, 1]) - np.maximum(target[0], candidates[:, 0])).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - intersection
    with np.errstate(invalid="ignore"):
        return intersection.astype(float) / union


def interpolated_prec_rec(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC 2011 AP: precision made non-increasing from the right, summed over the recall steps."""
    padded_precision = np.hstack([[0.0], precision, [0.0]])
    padded_recall = np.hstack([[0.0], recall, [1.0]])
    for i in range(len(padded_precision) - 2, -1, -1):
        padded_precision[i] = max(padded_precision[i], padded_precision[i + 1])
    steps = np.flatnonzero(padded_recall[1:] != padded_recall[:-1]) + 1
    return float(np.sum((padded_recall[steps] - padded_recall[steps - 1]) * padded_precision[steps]))
