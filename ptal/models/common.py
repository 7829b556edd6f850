"""What the model families share: their data (the THUMOS14 structure, synthetic or real features), a
seeded sampler, detection metrics and the frame of a video's timeline picture."""
from __future__ import annotations

import numpy as np
import torch

from ptal.data import SNIPPET_SECONDS, LacpFeatures, SyntheticThumos14, Thumos14, VideoDataset, VideoItem
from ptal.data.activitynet import Segments
from ptal.eval import detection_map
from ptal.viz import Timeline


def feature_source(data, split: str, annotations: Thumos14):
    """The features of a config's ``data`` section (``DataSettings``): the synthetic benchmark or the LACP
    layout at a path."""
    if data.source == "synthetic":
        return SyntheticThumos14(annotations, dim=data.feature_dim, seed=data.seed, difficulty=data.difficulty,
                                 boundary_context=data.boundary_context)
    return LacpFeatures(data.source, split, dim=data.feature_dim)


def load_videos(data, annotations: Thumos14, split: str) -> list[VideoItem]:
    """Every video of ``split``, whole, with its point labels on the training split."""
    dataset = VideoDataset(feature_source(data, split, annotations), annotations.splits[split],
                           annotations.class_names, annotations.ground_truth,
                           annotations.points if split == "train" else None)
    return [dataset[i] for i in range(len(dataset))]


def ground_truth_of(gt: Segments, video_ids: list[str]) -> Segments:
    """The rows of ``gt`` on ``video_ids``, re-indexed to that video list."""
    index = {video: i for i, video in enumerate(gt.video_ids)}
    keep = np.isin(gt.video, [index[v] for v in video_ids])
    remap = {index[v]: i for i, v in enumerate(video_ids)}
    return Segments(video_ids, gt.class_names, np.array([remap[v] for v in gt.video[keep]], dtype=np.int64),
                    gt.start[keep], gt.end[keep], gt.label[keep])


def concatenate(video_ids: list[str], class_names: list[str], parts: list[tuple[int, Segments]]) -> Segments:
    """One table from the tables of consecutive slices of ``video_ids``, each given with its first video."""
    return Segments(video_ids, class_names,
                    np.concatenate([found.video + first for first, found in parts]).astype(np.int64),
                    np.concatenate([found.start for _, found in parts]),
                    np.concatenate([found.end for _, found in parts]),
                    np.concatenate([found.label for _, found in parts]).astype(np.int64),
                    np.concatenate([found.score for _, found in parts]))


def detection_metrics(ground_truth: Segments, predictions: Segments, prefix: str = "") -> dict[str, float]:
    """``{prefix}mAP@t`` for t = 0.1 … 0.7 and ``{prefix}average_{range}`` (THUMOS14's averages)."""
    result = detection_map(ground_truth, predictions)
    metrics = {f"{prefix}mAP@{t:.1f}": float(m) for t, m in zip(result.tiou_thresholds, result.map)}
    metrics.update({f"{prefix}average_{name}": float(value) for name, value in result.averages.items()})
    return metrics


class SeededSampler:
    """Indices ``0 … size - 1`` drawn in a sequence of seeded random permutations (an epoch each)."""

    def __init__(self, size: int, seed: int):
        if size < 1:
            raise ValueError("there is nothing to train on: no training video (or window) holds a point")
        self.size = size
        self.generator = torch.Generator().manual_seed(seed)
        self.order, self.cursor = self._permutation(), 0

    def _permutation(self) -> list[int]:
        # Python ints: drawing reads no tensor (a training step reads no value, tests/sync_check.py).
        return torch.randperm(self.size, generator=self.generator).tolist()

    def draw(self, count: int) -> list[int]:
        """The next ``count`` indices."""
        drawn = []
        while len(drawn) < count:
            if self.cursor == self.size:
                self.order, self.cursor = self._permutation(), 0
            drawn.append(self.order[self.cursor])
            self.cursor += 1
        return drawn

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": torch.tensor(self.order), "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.order, self.cursor = state["order"].tolist(), state["cursor"]


def find_video(train_items: list[VideoItem], eval_items: list[VideoItem], video_id: str) -> tuple[int, VideoItem, bool]:
    """(index in its list, item, is a training video) of a video id, training videos first."""
    for is_training, items in ((True, train_items), (False, eval_items)):
        for index, item in enumerate(items):
            if item.video_id == video_id:
                return index, item, is_training
    raise ValueError(f"video {video_id!r} is neither a training nor an evaluation video of this dataset")


def video_timeline(item: VideoItem, class_names: list[str], predictions: Segments) -> Timeline:
    """A timeline of one video with its ground truth, points and ``predictions`` (of this video only, in
    seconds); sequences are sampled once per snippet."""
    step = SNIPPET_SECONDS
    return Timeline(item.video_id, list(class_names), len(item.features) * step,
                    ground_truth=[(float(s), float(e), int(c)) for (s, e), c in
                                  zip(item.segments.tolist(), item.segment_labels.tolist())],
                    points=[((t + 0.5) * step, int(c)) for t, c in torch.nonzero(item.point_labels).tolist()],
                    seconds_per_step=step,
                    predictions=[(float(s), float(e), int(c), float(p)) for s, e, c, p in
                                 zip(predictions.start, predictions.end, predictions.label, predictions.score)])
