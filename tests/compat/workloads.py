"""ActionFormer-like detector outputs, before NMS, made with NumPy (reproducible across torch versions).

ActionFormer's inference (``inference_single_video``) scores every (FPN point, class) with a sigmoid, keeps
those above 0.001, the best 2 000 per pyramid level, and turns each into a segment ``[p - l * s, p + r * s]``
from its point p, the level's stride s and two regressed non-negative offsets (ReLU: often exactly 0), keeping
segments longer than a duration threshold. Here the logits and offsets are drawn around ground-truth-like
instances: points inside an instance of class c, on the level whose stride suits its length, score c highly and
regress offsets near the instance's bounds; every other (point, class) is noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """An ActionFormer test configuration and the shape of its videos (grid units: feature snippets)."""
    name: str
    num_classes: int
    min_length: int  # of a video, in grid units
    max_length: int
    instance_scale: float  # typical instance length as a fraction of the video (ANet) or in grid units (THUMOS)
    relative: bool
    # batched_nms settings of its config
    iou_threshold: float
    min_score: float
    max_seg_num: int
    sigma: float
    voting_thresh: float
    duration_thresh: float


THUMOS14 = Dataset("thumos14", 20, 300, 2304, 30.0, False, 0.5, 0.001, 200, 0.5, 0.7, 0.05)
ANET = Dataset("activitynet", 1, 192, 192, 0.3, True, 0.5, 0.001, 100, 0.75, 0.9, 0.001)
STRIDES = (1, 2, 4, 8, 16, 32)
PRE_NMS_THRESHOLD, PRE_NMS_TOPK = 0.001, 2000


def video_outputs(dataset: Dataset, seed: int):
    """One video's (segments (N, 2) float32, scores (N,) float32, labels (N,) int64), in ActionFormer's order
    (pyramid level by level, each by decreasing score)."""
    rng = np.random.default_rng(seed)
    length = int(rng.integers(dataset.min_length, dataset.max_length + 1))
    num_instances = int(rng.integers(1, 12))
    if dataset.relative:
        durations = length * np.clip(rng.lognormal(np.log(dataset.instance_scale), 0.8, num_instances), 0.02, 0.95)
    else:
        durations = np.clip(rng.lognormal(np.log(dataset.instance_scale), 0.7, num_instances), 2.0, length / 2)
    starts = rng.uniform(0, length - durations)
    classes = rng.choice(dataset.num_classes, size=min(dataset.num_classes, 3), replace=False)
    labels = rng.choice(classes, size=num_instances)
    segments, scores, out_labels = [], [], []
    for stride in STRIDES:
        points = np.arange(0, length, stride, dtype=np.float32)
        logits = rng.normal(-7.0, 1.5, (points.size, dataset.num_classes)).astype(np.float32)
        left = np.maximum(rng.normal(1.0, 2.0, points.size), 0).astype(np.float32)
        right = np.maximum(rng.normal(1.0, 2.0, points.size), 0).astype(np.float32)
        for start, duration, label in zip(starts, durations, labels):
            inside = (points >= start) & (points <= start + duration)
            if not (stride * 2 <= duration <= stride * 24 or (stride == 32 and duration > 64)):
                continue
            confidence = rng.normal(4.0, 2.5, inside.sum()).astype(np.float32)
            logits[inside, label] = np.maximum(logits[inside, label], confidence)
            noise = rng.normal(0, 0.1 * duration / stride, (2, inside.sum()))
            left[inside] = np.maximum((points[inside] - start) / stride + noise[0], 0)
            right[inside] = np.maximum((start + duration - points[inside]) / stride + noise[1], 0)
        probability = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32).ravel()
        candidates = np.flatnonzero(probability > PRE_NMS_THRESHOLD)
        candidates = candidates[np.argsort(-probability[candidates], kind="stable")[:PRE_NMS_TOPK]]
        point = candidates // dataset.num_classes
        begin = points[point] - left[point] * np.float32(stride)
        end = points[point] + right[point] * np.float32(stride)
        keep = (end - begin) > dataset.duration_thresh
        segments.append(np.stack([begin, end], 1)[keep])
        scores.append(probability[candidates][keep])
        out_labels.append((candidates % dataset.num_classes)[keep])
    return (np.concatenate(segments).astype(np.float32), np.concatenate(scores).astype(np.float32),
            np.concatenate(out_labels).astype(np.int64))


def detector_outputs(dataset: Dataset, num_videos: int, first_seed: int = 0):
    """``num_videos`` videos' outputs, a list of (segments, scores, labels)."""
    return [video_outputs(dataset, first_seed + v) for v in range(num_videos)]


MODES = [dict(use_soft_nms=soft, multiclass=multiclass, voting=voting)
         for soft in (False, True) for multiclass in (False, True) for voting in (False, True)]


def mode_name(mode: dict) -> str:
    return (f"{'soft' if mode['use_soft_nms'] else 'hard'}-{'multiclass' if mode['multiclass'] else 'agnostic'}-"
            f"{'voting' if mode['voting'] else 'no-voting'}")


def nms_settings(dataset: Dataset, mode: dict) -> dict:
    """batched_nms keyword arguments of ActionFormer's config for ``dataset`` in ``mode``."""
    return dict(iou_threshold=dataset.iou_threshold, min_score=dataset.min_score, max_seg_num=dataset.max_seg_num,
                use_soft_nms=mode["use_soft_nms"], multiclass=mode["multiclass"], sigma=dataset.sigma,
                voting_thresh=dataset.voting_thresh if mode["voting"] else 0.0)
