"""A torch ``Dataset`` of whole videos with their labels."""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ptal.data.activitynet import Segments, rows_by_video
from ptal.data.annotations import SNIPPET_SECONDS
from ptal.data.features import FeatureSource
from ptal.data.points import PointLabels


@dataclass(frozen=True)
class VideoItem:
    """One video of T snippets, C classes and K ground-truth instances.

    Attributes:
        video_id: the video.
        features: (T, D) float32; or float16, read-only and memory-mapped, where the source maps its videos
            (the synthetic twins' cache): models compute in float32.
        video_labels: (C,) float32, 1 for each class with a ground-truth instance or a point.
        point_labels: (T, C) float32, 1 at each point's snippet and class.
        segments: (K, 2) float64 ``[start, end]`` in seconds, the video's ground-truth instances.
        segment_labels: (K,) int64 class indices.
        seconds_per_snippet: the time one snippet of ``features`` covers.
    """

    video_id: str
    features: torch.Tensor
    video_labels: torch.Tensor
    point_labels: torch.Tensor
    segments: torch.Tensor
    segment_labels: torch.Tensor
    seconds_per_snippet: float


class VideoDataset(torch.utils.data.Dataset):
    """Whole videos of a feature source with their labels.

    Args:
        features: any ``FeatureSource`` (``LacpFeatures``, ``NpyFeatures``, ``SyntheticThumos14``).
        video_ids: the videos, in item order.
        class_names: the C classes (the order of ``video_labels``/``point_labels`` columns).
        ground_truth: instances in seconds; None (or a video without rows) gives no segments.
        points: point labels; None gives all-zero point labels.
        seconds_per_snippet: the snippet duration, one for every video or per video (THUMOS14's 0.64 s by
            default).

    Every point must lie inside its video: a point whose snippet is >= T raises ``ValueError``
    naming the video, when the dataset is built.
    """

    def __init__(self, features: FeatureSource, video_ids: Sequence[str], class_names: Sequence[str],
                 ground_truth: Segments | None = None, points: PointLabels | None = None,
                 seconds_per_snippet: float | Mapping[str, float] = SNIPPET_SECONDS):
        if ground_truth is not None and list(ground_truth.class_names) != list(class_names):
            raise ValueError("ground_truth.class_names differ from class_names")
        if points is not None and list(points.class_names) != list(class_names):
            raise ValueError("points.class_names differ from class_names")
        self.features = features
        self.class_names = list(class_names)
        self.ground_truth = ground_truth
        self.points = PointLabels.empty(class_names) if points is None else points
        self.video_ids = list(video_ids)
        self.seconds_per_snippet = seconds_per_snippet
        for video_id in self.video_ids:
            length = features.length(video_id)
            point_snippets = self.points.of_video(video_id).snippet
            outside = point_snippets[point_snippets >= length]
            if len(outside):
                raise ValueError(f"video {video_id!r}: a point at snippet {outside[0]} is outside the video, "
                                 f"whose features have {length} snippets")

    def __len__(self) -> int:
        return len(self.video_ids)

    def __getitem__(self, index: int) -> VideoItem:
        video_id = self.video_ids[index]
        mapped = getattr(self.features, "mapped", None)  # a source that keeps its videos on disk maps them
        features = self.features.load(video_id) if mapped is None else mapped(video_id)
        num_classes = len(self.class_names)
        points = self.points.of_video(video_id)
        point_labels = np.zeros((len(features), num_classes), dtype=np.float32)
        point_labels[points.snippet, points.label] = 1
        segments, segment_labels = self._segments_of(video_id)
        video_labels = np.zeros(num_classes, dtype=np.float32)
        video_labels[segment_labels] = 1
        video_labels[points.label] = 1
        return VideoItem(
            video_id=video_id,
            features=_tensor(features),
            video_labels=torch.from_numpy(video_labels),
            point_labels=torch.from_numpy(point_labels),
            segments=torch.from_numpy(segments),
            segment_labels=torch.from_numpy(segment_labels),
            seconds_per_snippet=float(self.seconds_per_snippet[video_id] if isinstance(self.seconds_per_snippet, Mapping)
                                      else self.seconds_per_snippet),
        )

    def _segments_of(self, video_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) float64 seconds and (K,) int64 labels of the video's instances."""
        if self.ground_truth is None or video_id not in rows_by_video(self.ground_truth):
            return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        truth = self.ground_truth.of_video(video_id)
        return np.stack([truth.start, truth.end], axis=1), truth.label


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``array``'s memory, read-only (memory-mapped) arrays included: nothing writes to features."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)
