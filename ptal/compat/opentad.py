"""OpenTAD's post-processing and evaluation, on ptal's ops: same signatures, same results, faster.

Replace in OpenTAD (``opentad/models/utils/post_processing/__init__.py`` and the evaluator registry)::

    from ptal.compat.opentad import batched_nms, mAP

:func:`batched_nms` is OpenTAD's ``post_processing/nms/nms.py::batched_nms`` (its defaults and soft-NMS method
numbers: 0 hard, 1 linear, 2 Gaussian, 3 BMN's improved Gaussian), on ``ptal.ops.temporal_nms`` and
``ptal.ops.soft_nms``; :func:`batched_nms_videos` does a whole test set in one call. :class:`mAP` is the evaluator
``opentad/evaluations/mAP.py::mAP`` on ``ptal.eval.detection_map``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from ptal.compat import _evaluation, _nms
from ptal.data.activitynet import json_field, read_json_document

METHODS = (0, 1, 2, 3)


def batched_nms(segs, scores, cls_idxs, iou_threshold=0.0, min_score=0.0, max_seg_num=100, use_soft_nms=True,
                multiclass=True, sigma=0.5, voting_thresh=0.0, method=2, t1=0, t2=0):
    """OpenTAD's ``batched_nms`` for one video, with its arguments, defaults and results.

    As ``ptal.compat.actionformer.batched_nms``, with OpenTAD's differences: inputs are cast to float32; soft-NMS
    ``method`` 0 (zero the scores at IoU >= ``iou_threshold``), 1 (linear: times 1 - IoU there), 2 (Gaussian:
    ``exp(-IoU^2 / sigma)``), 3 (improved Gaussian: the Gaussian decay only where IoU >= ``t1 + t2 * length``
    of the selected segment); score voting weighs the candidates by score alone.

    Returns:
        ``(segs (K, 2) float32, scores (K,) float32, cls_idxs (K,))`` by decreasing score.
    """
    return batched_nms_videos([(segs, scores, cls_idxs)], iou_threshold, min_score, max_seg_num, use_soft_nms,
                              multiclass, sigma, voting_thresh, method, t1, t2)[0]


def batched_nms_videos(videos: Sequence, iou_threshold=0.0, min_score=0.0, max_seg_num=100, use_soft_nms=True,
                       multiclass=True, sigma=0.5, voting_thresh=0.0, method=2, t1=0, t2=0) -> list:
    """:func:`batched_nms` of every video of a test set in one call: ``videos`` is a sequence of
    ``(segs, scores, cls_idxs)``; returns one ``(segs, scores, cls_idxs)`` per video."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} (0 hard, 1 linear, 2 Gaussian, 3 improved Gaussian), "
                         f"got {method!r}")
    tensors = []
    for i, video in enumerate(videos):
        segments, scores, labels = (video["segments"], video["scores"], video["labels"]) if isinstance(
            video, Mapping) else video
        segments, scores, labels = _nms.checked_video(segments.float(), scores.float(), labels, where=f"video {i}")
        tensors.append((segments, scores, labels))
    return _nms.nms_videos(tensors, iou_threshold=float(iou_threshold), min_score=float(min_score),
                           max_seg_num=int(max_seg_num), use_soft_nms=bool(use_soft_nms), multiclass=bool(multiclass),
                           sigma=float(sigma), voting_thresh=float(voting_thresh), method=int(method),
                           voting_weighted_by_iou=False, improved_gaussian=(float(t1), float(t2)))


class mAP:  # noqa: N801 (OpenTAD's name)
    """OpenTAD's ``mAP`` evaluator: the same constructor, ``evaluate()`` dict and ``logging()``, on ptal's
    evaluation.

    Ground truth: the videos of subset ``subset`` (exact spelling) not in ``blocked_videos`` (a JSON list file);
    annotations of zero or negative length, or repeating an earlier one of the same label within 1e-3, are
    dropped; classes are numbered in order of first appearance (``activity_index``). Predictions: an ActivityNet
    results file or dict (``{"results": {video: [{"segment", "label", "score"}]}}``); a label outside the ground
    truth is not scored. ``thread`` is accepted and unused. (OpenTAD divides tIoUs by max(union, 1e-8): this
differs from an exact division only for unions below 1e-8.)
    """

    def __init__(self, ground_truth_filename, prediction_filename, subset, tiou_thresholds, top_k=None,
                 blocked_videos=None, thread=16):
        if not ground_truth_filename:
            raise OSError("Please input a valid ground truth file.")
        if not prediction_filename:
            raise OSError("Please input a valid prediction file.")
        self.subset = subset
        self.tiou_thresholds = tiou_thresholds
        self.top_k = top_k
        self.thread = thread
        self.blocked_videos = []
        if blocked_videos is not None:
            self.blocked_videos = _blocked_videos(blocked_videos)
        blocked = set(self.blocked_videos)
        self.ground_truth, self.activity_index = _opentad_ground_truth(ground_truth_filename, subset, blocked)
        self.prediction = _opentad_predictions(prediction_filename, self.activity_index, blocked)

    def evaluate(self):
        """``{"average_mAP": ..., "mAP@<t>": ...}`` plus ``"recall@<t>@<k>"`` when ``top_k`` is given; sets
        ``ap`` (S, C), ``mAPs``, ``average_mAP`` (and ``recall``, ``mRecall``)."""
        num_classes = len(self.activity_index)
        scored = self.prediction["label"] < num_classes
        predictions = {name: values[scored] for name, values in self.prediction.items()}
        self.ap = _evaluation.average_precision(self.ground_truth, predictions, num_classes, self.tiou_thresholds)
        self.mAPs = self.ap.mean(axis=1)
        self.average_mAP = self.mAPs.mean()
        metric_dict = dict(average_mAP=self.average_mAP)
        for tiou, value in zip(self.tiou_thresholds, self.mAPs):
            metric_dict[f"mAP@{tiou}"] = value
        if self.top_k is not None:
            self.recall = _evaluation.top_k_recall(self.ground_truth, predictions, num_classes, self.tiou_thresholds,
                                                   self.top_k, union_floor=1e-8)
            self.mRecall = self.recall.mean(axis=2)
            for tiou, recalls in zip(self.tiou_thresholds, self.mRecall):
                for k, value in zip(self.top_k, recalls):
                    metric_dict[f"recall@{tiou}@{k}"] = value
        return metric_dict

    def logging(self, logger=None):
        """OpenTAD's summary lines, to ``logger.info`` or print."""
        write = print if logger is None else logger.info
        write(f"Loaded annotations from {self.subset} subset.")
        write(f"Number of ground truth instances: {len(self.ground_truth['label'])}")
        write(f"Number of predictions: {len(self.prediction['label'])}")
        write(f"Fixed threshold for tiou score: {self.tiou_thresholds}")
        write(f"Average-mAP: {self.average_mAP * 100:>4.2f} (%)")
        for tiou, value in zip(self.tiou_thresholds, self.mAPs):
            write(f"mAP at tIoU {tiou:.2f} is {value * 100:>4.2f}%")
        if self.top_k is not None:
            write(f"Fixed top-kx results: {self.top_k}")
            for tiou, recalls in zip(self.tiou_thresholds, self.mRecall):
                text = ", ".join(f"R{k:d} is {r * 100:>4.2f}%" for k, r in zip(self.top_k, recalls))
                write(f"Recall at tIoU {tiou:.2f}: {text}")


def _blocked_videos(path) -> list:
    with open(path, "rb") as handle:
        text = handle.read()
    try:
        videos = json.loads(text.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(videos, list) or not all(isinstance(video, str) for video in videos):
        raise ValueError(f"{path}: blocked videos must be a JSON list of video names")
    return videos


def _opentad_ground_truth(source, subset, blocked):
    document = read_json_document(source, "ground truth")
    if "database" not in document.content:
        raise OSError(f"{document.name}: not a ground truth file: no field 'database'")
    activity_index = {}
    video, start, end, label = [], [], [], []
    for video_id, where, entry in _evaluation.video_entries(document, "database", dict):
        if subset != json_field(entry, "subset", str, where) or video_id in blocked:
            continue
        rows = _evaluation.checked_rows(json_field(entry, "annotations", list, where), where, ("label",))
        for annotation in _evaluation.kept_annotations(rows, lambda a: a["label"], 1e-3, lambda duration: duration > 0):
            label.append(activity_index.setdefault(_hashable(annotation["label"]), len(activity_index)))
            video.append(video_id)
            start.append(annotation["segment"][0])
            end.append(annotation["segment"][1])
    return _evaluation.class_arrays(video, start, end, label), activity_index


def _opentad_predictions(source, activity_index, blocked):
    """Predictions as arrays; a label outside the ground truth gets index C (not scored)."""
    if not isinstance(source, (str, dict)):
        raise OSError(f"Type of prediction file is {type(source)}.")
    document = read_json_document(source, "predictions")
    if "results" not in document.content:
        raise OSError(f"{document.name}: not a prediction file: no field 'results'")
    rows = [(video_id, *p["segment"], activity_index.get(_hashable(p["label"]), len(activity_index)), p["score"])
            for video_id, where, predictions in _evaluation.video_entries(document, "results", list)
            if video_id not in blocked
            for p in _evaluation.checked_rows(predictions, where, ("label",), "score")]
    return _evaluation.class_arrays(*(list(column) for column in zip(*rows))) if rows else _evaluation.class_arrays(
        [], [], [], [], [])


def _hashable(label):
    """A label as a dictionary key: a list of ids as a tuple."""
    return tuple(label) if isinstance(label, list) else label
