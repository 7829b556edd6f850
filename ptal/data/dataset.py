"""A torch ``Dataset`` of videos (or windows of videos) and the collate that pads them into a batch."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from ptal.data.activitynet import Segments
from ptal.data.annotations import SNIPPET_SECONDS, PointLabels
from ptal.data.features import FeatureSource


@dataclass(frozen=True)
class VideoItem:
    """One video, or one window of a video, of T snippets, C classes and K ground-truth instances.

    Attributes:
        video_id: the video.
        offset: the first snippet of the item in the video (0 for a whole video).
        features: (T, D) float32.
        video_labels: (C,) float32, 1 for each class with a ground-truth instance or a point in the item.
        point_labels: (T, C) float32, 1 at each point's snippet and class.
        segments: (K, 2) float64 ``[start, end]`` in seconds from the start of the *video*, the
            ground-truth instances overlapping the item (not clipped to it).
        segment_labels: (K,) int64 class indices.
    """

    video_id: str
    offset: int
    features: torch.Tensor
    video_labels: torch.Tensor
    point_labels: torch.Tensor
    segments: torch.Tensor
    segment_labels: torch.Tensor


@dataclass(frozen=True)
class Batch:
    """B items padded to the longest, T_max snippets (padding is zero).

    Attributes:
        video_ids: B video ids.
        offsets: (B,) int64 first snippet of each item in its video.
        lengths: (B,) int64 number of real snippets of each item.
        features: (B, T_max, D) float32.
        video_labels: (B, C) float32.
        point_labels: (B, T_max, C) float32.
        segments: B tensors (K_b, 2) float64, seconds.
        segment_labels: B tensors (K_b,) int64.
    """

    video_ids: list[str]
    offsets: torch.Tensor
    lengths: torch.Tensor
    features: torch.Tensor
    video_labels: torch.Tensor
    point_labels: torch.Tensor
    segments: list[torch.Tensor]
    segment_labels: list[torch.Tensor]


def collate(items: Sequence[VideoItem]) -> Batch:
    """Pad items to a ``Batch``; the ``collate_fn`` for a ``DataLoader`` over a ``VideoDataset``."""
    return Batch(
        video_ids=[item.video_id for item in items],
        offsets=torch.tensor([item.offset for item in items], dtype=torch.int64),
        lengths=torch.tensor([len(item.features) for item in items], dtype=torch.int64),
        features=pad_sequence([item.features for item in items], batch_first=True),
        video_labels=torch.stack([item.video_labels for item in items]),
        point_labels=pad_sequence([item.point_labels for item in items], batch_first=True),
        segments=[item.segments for item in items],
        segment_labels=[item.segment_labels for item in items],
    )


def window_offsets(length: int, window: int, stride: int) -> list[int]:
    """First snippets of the windows that cover a video of ``length`` snippets.

    Windows start every ``stride`` snippets while they end before the video does; the last window is
    aligned to the video's end, so every window is ``window`` long. A video no longer than ``window``
    is one window at 0 (of the video's length). Example: length 300, window 256, stride 128 gives
    [0, 44].
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    if length <= window:
        return [0]
    offsets = list(range(0, length - window, stride))
    return offsets + [length - window]


class VideoDataset(torch.utils.data.Dataset):
    """Videos of a feature source with their labels, whole or cut into windows.

    Args:
        features: any ``FeatureSource`` (``LacpFeatures``, ``NpyFeatures``, ``SyntheticThumos14``).
        video_ids: the videos, in item order.
        class_names: the C classes (the order of ``video_labels``/``point_labels`` columns).
        ground_truth: instances in seconds; None (or a video without rows) gives no segments.
        points: point labels; None gives all-zero point labels.
        window: if given, items are windows of ``window`` snippets every ``stride`` snippets
            (``window_offsets``); APN trains on W = 256, stride 128.
        stride: the window stride (default: ``window // 2``).
        keep_windows: "with_points" keeps only windows holding at least one point (training);
            "all" keeps every window (inference).

    Every point must lie inside its video: a point whose snippet is >= T raises ``ValueError``
    naming the video, when the dataset is built.
    """

    def __init__(self, features: FeatureSource, video_ids: Sequence[str], class_names: Sequence[str],
                 ground_truth: Segments | None = None, points: PointLabels | None = None,
                 window: int | None = None, stride: int | None = None, keep_windows: str = "with_points"):
        if keep_windows not in ("with_points", "all"):
            raise ValueError(f"keep_windows must be 'with_points' or 'all', got {keep_windows!r}")
        if ground_truth is not None and list(ground_truth.class_names) != list(class_names):
            raise ValueError("ground_truth.class_names differ from class_names")
        if points is not None and list(points.class_names) != list(class_names):
            raise ValueError("points.class_names differ from class_names")
        self.features = features
        self.class_names = list(class_names)
        self.ground_truth = ground_truth
        self.points = PointLabels.empty(class_names) if points is None else points
        self.items: list[tuple[str, int, int]] = []  # (video_id, start, stop) snippets
        for video_id in video_ids:
            length = features.length(video_id)
            point_snippets = self.points.of_video(video_id).snippet
            outside = point_snippets[point_snippets >= length]
            if len(outside):
                raise ValueError(f"video {video_id!r}: a point at snippet {outside[0]} is outside the video, "
                                 f"whose features have {length} snippets")
            offsets = [0] if window is None else window_offsets(length, window, stride or max(1, window // 2))
            for offset in offsets:
                stop = length if window is None else min(offset + window, length)
                holds_point = ((point_snippets >= offset) & (point_snippets < stop)).any()
                if window is None or keep_windows == "all" or holds_point:
                    self.items.append((video_id, offset, stop))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> VideoItem:
        video_id, start, stop = self.items[index]
        num_classes = len(self.class_names)
        points = self.points.of_video(video_id)
        inside = (points.snippet >= start) & (points.snippet < stop)
        point_labels = np.zeros((stop - start, num_classes), dtype=np.float32)
        point_labels[points.snippet[inside] - start, points.label[inside]] = 1
        segments, segment_labels = self._segments_of(video_id, start, stop)
        video_labels = np.zeros(num_classes, dtype=np.float32)
        video_labels[segment_labels] = 1
        video_labels[points.label[inside]] = 1
        return VideoItem(
            video_id=video_id,
            offset=start,
            features=torch.from_numpy(self.features.load(video_id, start, stop)),
            video_labels=torch.from_numpy(video_labels),
            point_labels=torch.from_numpy(point_labels),
            segments=torch.from_numpy(segments),
            segment_labels=torch.from_numpy(segment_labels),
        )

    def _segments_of(self, video_id: str, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) float64 seconds and (K,) int64 labels of the instances overlapping snippets [start, stop)."""
        if self.ground_truth is None or video_id not in self.ground_truth.video_ids:
            return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        truth = self.ground_truth.of_video(video_id)
        overlaps = (truth.end > start * SNIPPET_SECONDS) & (truth.start < stop * SNIPPET_SECONDS)
        return np.stack([truth.start[overlaps], truth.end[overlaps]], axis=1), truth.label[overlaps]

