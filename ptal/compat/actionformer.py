"""ActionFormer's post-processing and evaluation, on ptal's ops: same signatures, same results, faster.

Replace in ActionFormer (``libs/utils/__init__.py`` or the imports of ``libs/modeling/meta_archs.py`` and
``eval.py``)::

    from ptal.compat.actionformer import batched_nms, ANETdetection

:func:`batched_nms` is ActionFormer's ``libs/utils/nms.py::batched_nms`` (hard or Gaussian soft-NMS per class
or over all classes, minimum score, cap, score voting, final sort), built on ``ptal.ops.temporal_nms`` and
``ptal.ops.soft_nms``; :func:`batched_nms_videos` does the same for a whole test set in one call.
:class:`ANETdetection` is ``libs/utils/metrics.py::ANETdetection`` on ``ptal.eval.detection_map``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ptal.compat import _evaluation, _nms
from ptal.data.activitynet import json_field, read_json_document

GAUSSIAN = 2  # the only soft-NMS method ActionFormer's batched_nms uses


def batched_nms(segs, scores, cls_idxs, iou_threshold, min_score, max_seg_num, use_soft_nms=True, multiclass=True,
                sigma=0.5, voting_thresh=0.75):
    """ActionFormer's ``batched_nms`` for one video, with its arguments and results.

    Hard NMS (``use_soft_nms=False``) keeps the segments with score > ``min_score`` (when it is > 0) and
    suppresses at IoU >= ``iou_threshold``; Gaussian soft-NMS (``sigma``; ``iou_threshold`` unused) selects
    until every remaining decayed score is below ``min_score``, and always selects the best segment. Either runs
    per class (``multiclass``) or over all; each run keeps at most ``max_seg_num`` (when > 0). Class-agnostic
    with ``voting_thresh > 0``: every kept segment becomes the mean of the video's input segments with IoU >=
    ``voting_thresh`` to it, weighted by score times IoU. Finally the detections are sorted by score and the
    first ``max_seg_num`` returned.

    Args:
        segs: (N, 2) float32 (or float64) ``[start, end]`` in feature-grid units.
        scores: (N,) same dtype.
        cls_idxs: (N,) integer class indices.
        (the rest as ActionFormer's test_cfg: ``iou_threshold``, ``min_score``, ``max_seg_num``,
        ``use_soft_nms``, ``multiclass``, ``sigma``, ``voting_thresh``)

    Returns:
        ``(segs (K, 2), scores (K,), cls_idxs (K,))`` by decreasing score, in the input dtypes (no input gives
        float32 empties and ``cls_idxs``' dtype, as ActionFormer). Identical to ActionFormer's on the same input
        (decayed scores to 1e-6, voted segments to 1e-6 relative: ptal decays in float64 and sums votes in
        float64, ActionFormer in float32); see ``docs/ops.md`` for the rare cases where they can differ.
    """
    return batched_nms_videos([(segs, scores, cls_idxs)], iou_threshold, min_score, max_seg_num, use_soft_nms,
                              multiclass, sigma, voting_thresh)[0]


def batched_nms_videos(videos: Sequence, iou_threshold, min_score, max_seg_num, use_soft_nms=True,
                       multiclass=True, sigma=0.5, voting_thresh=0.75) -> list:
    """:func:`batched_nms` of every video of a test set in one call: ``videos`` is a sequence of
    ``(segs, scores, cls_idxs)`` (or of ActionFormer's result dicts with ``segments``, ``scores`` and
    ``labels``); returns the list of ``(segs, scores, cls_idxs)``, one per video."""
    videos = [_video_tensors(video, i) for i, video in enumerate(videos)]
    return _nms.nms_videos(videos, iou_threshold=float(iou_threshold), min_score=float(min_score),
                           max_seg_num=int(max_seg_num), use_soft_nms=bool(use_soft_nms),
                           multiclass=bool(multiclass), sigma=float(sigma), voting_thresh=float(voting_thresh),
                           method=GAUSSIAN, voting_weighted_by_iou=True)


def _video_tensors(video, index: int):
    if isinstance(video, Mapping):
        video = (video["segments"], video["scores"], video["labels"])
    return _nms.checked_video(*video, where=f"video {index}")


class ANETdetection:
    """ActionFormer's ``ANETdetection``: the same constructor, ``evaluate`` and results, on ptal's evaluation.

    Ground truth: the videos of ``ant_file`` (``{"database": {video: {"subset", "annotations"}}}``) whose subset,
    lower-cased, equals ``split`` (all when None); annotations shorter than 1e-3 s, or repeating an earlier one of
    the same label within 1e-3 s, are dropped; labels are read from the field ``label`` (``label_id``) and
    renumbered 0 .. C-1 in increasing order (``activity_index``). ``num_workers`` is accepted and unused (one
    compiled pass needs no processes). ``ground_truth`` is a dict of arrays with ActionFormer's column names.
    """

    def __init__(self, ant_file, split=None, tiou_thresholds=np.linspace(0.1, 0.5, 5), top_k=(1, 5),
                 label="label_id", label_offset=0, num_workers=8, dataset_name=None):
        self.tiou_thresholds = tiou_thresholds
        self.top_k = top_k
        self.ap = None
        self.num_workers = num_workers
        self.dataset_name = dataset_name if dataset_name is not None else os.path.basename(ant_file).replace(".json",
                                                                                                               "")
        self.split = split
        self.ground_truth = _actionformer_ground_truth(ant_file, split, label, label_offset)
        self.activity_index = {j: i for i, j in enumerate(sorted(set(self.ground_truth["label"].tolist())))}
        self.ground_truth["label"] = np.array([self.activity_index[j] for j in self.ground_truth["label"].tolist()],
                                              dtype=np.int64)

    def evaluate(self, preds, verbose=True):
        """mAP of ``preds``: a pandas DataFrame or a dict of arrays (columns ``video-id``, ``t-start``, ``t-end``,
        ``label``, ``score``), or the path of a JSON file in ActionFormer's prediction format. Returns
        ``(mAP (S,), average_mAP, mRecall (S, len(top_k)))``; sets ``self.ap`` (S, C) and ``self.recall``."""
        if isinstance(preds, (str, os.PathLike)) and os.path.isfile(preds):
            preds = _actionformer_predictions(preds)
        columns = {name: _column(preds, name) for name in ("video-id", "t-start", "t-end", "label", "score")}
        num_classes = len(self.activity_index)
        label = np.array([self.activity_index.get(value, value) for value in columns["label"].tolist()])
        # A label outside the ground truth keeps its value; ActionFormer then scores it as the class with that
        # index, if there is one, and ignores it otherwise.
        scored = np.isin(label, np.arange(num_classes))
        predictions = _evaluation.class_arrays(columns["video-id"][scored], columns["t-start"][scored],
                                               columns["t-end"][scored], label[scored], columns["score"][scored])
        ground_truth = _evaluation.class_arrays(self.ground_truth["video-id"], self.ground_truth["t-start"],
                                                self.ground_truth["t-end"], self.ground_truth["label"])
        self.ap = _evaluation.average_precision(ground_truth, predictions, num_classes, self.tiou_thresholds)
        self.recall = _evaluation.top_k_recall(ground_truth, predictions, num_classes, self.tiou_thresholds,
                                               self.top_k)
        mAP = self.ap.mean(axis=1)
        mRecall = self.recall.mean(axis=2)
        average_mAP = mAP.mean()
        if verbose:
            print(f"[RESULTS] Action detection results on {self.dataset_name}.")
            block = ""
            for tiou, tiou_map, tiou_recall in zip(self.tiou_thresholds, mAP, mRecall):
                block += f"\n|tIoU = {tiou:.2f}: mAP = {tiou_map * 100:>4.2f} (%) "
                for i, k in enumerate(self.top_k):
                    block += f"Recall@{k:d}x = {tiou_recall[i] * 100:>4.2f} (%) "
            print(block)
            print(f"Average mAP: {average_mAP * 100:>4.2f} (%)")
        return mAP, average_mAP, mRecall


def _actionformer_label(value, label_offset, where: str):
    """ActionFormer's label id: the value, or for a list of ids the sum it computes (kept as is, quirk included:
    ``sum(label_offset ** i + x)`` over the reversed list)."""
    if isinstance(value, str):
        raise ValueError(f"{where}: a label id must be an integer or a list of integers, got {value!r}")
    label = sum(label_offset ** i + int(x) for i, x in enumerate(value[::-1])) if isinstance(value, list) else value
    if not -2**63 <= label < 2**63:
        raise ValueError(f"{where}: label id {label} does not fit in 64 bits")
    return int(label)


def _actionformer_ground_truth(ant_file, split, label, label_offset) -> dict:
    document = read_json_document(ant_file, "ground truth")
    video, start, end, labels = [], [], [], []
    for video_id, where, entry in _evaluation.video_entries(document, "database", dict):
        if split is not None and json_field(entry, "subset", str, where).lower() != split:
            continue
        rows = _evaluation.checked_rows(json_field(entry, "annotations", list, where), where, ("label_id", label))
        kept = _evaluation.kept_annotations(rows, lambda a: a["label_id"], 1e-3, lambda duration: duration >= 1e-3)
        for annotation in kept:
            video.append(video_id)
            start.append(annotation["segment"][0])
            end.append(annotation["segment"][1])
            labels.append(_actionformer_label(annotation[label], label_offset, where))
    return {"video-id": np.array(video, dtype=object), "t-start": np.array(start, dtype=np.float64),
            "t-end": np.array(end, dtype=np.float64), "label": np.array(labels, dtype=np.int64)}


def _actionformer_predictions(path) -> dict:
    """ActionFormer's prediction file: ``{"database": {video: [{"segment", "label_id", "scores"}]}}``."""
    rows = [(video_id, *event["segment"], _actionformer_label(event["label_id"], 0, where), event["scores"])
            for video_id, where, events in _evaluation.video_entries(read_json_document(path, "predictions"),
                                                                     "database", list)
            for event in _evaluation.checked_rows(events, where, ("label_id",), "scores")]
    names = ("video-id", "t-start", "t-end", "label", "score")
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _column(preds, name: str) -> np.ndarray:
    value = preds[name]
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value if name != "video-id" else list(value), dtype=object if name == "video-id" else None)
