"""What the model families share: their data (a benchmark's structure, synthetic or real features), a
seeded sampler, detection metrics and the frame of a video's timeline picture."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import torch

from ptal.data import (Annotations, LacpFeatures, NpyFeatures, SfnetFeatures, SyntheticBenchmark, VideoDataset,
                       VideoItem, dataset_spec, load_annotations)
from ptal.data.features import RescaledFeatures
from ptal.data.activitynet import Segments
from ptal.data.sfnet import annotation_folder, feature_file, is_sfnet_folder
from ptal.eval import average_names, detection_map
from ptal.viz import Timeline

SYNTHETIC_DIM = 2048  # the twins' feature size when data.feature_dim is unset, as I3D's


def load_dataset(data) -> tuple[Annotations, list[VideoItem], list[VideoItem]]:
    """The annotations of a config's ``data`` section (``DataSettings``) and its training and evaluation
    videos, whole (points on the training ones), rescaled to ``data.fixed_length`` snippets when it is set: the
    dataset's synthetic twin, or real features in SF-Net's layout (its annotations beside them, unless
    ``data.annotations`` names others), the LACP layout, or one ``.npy`` per video (``data.annotations`` then names
    the annotations, e.g. ActivityNet's JSON)."""
    spec = dataset_spec(data.dataset)
    source = None if data.source == "synthetic" else Path(data.source)
    sfnet = source is not None and is_sfnet_folder(source, spec.sfnet_name)
    per_video = source is not None and not sfnet and not (source / "features").is_dir() and source.is_dir() \
        and data.annotations is not None
    if source is not None and not (sfnet or per_video or (source / "features").is_dir()):
        raise FileNotFoundError(
            f"data.source {data.source}: no {spec.title} features: expected SF-Net's layout "
            f"({feature_file(source, spec.sfnet_name).name} and {spec.sfnet_name}-Annotations/), the LACP "
            f"layout (features/<split>/rgb|flow/<video>.npy), or one <video>.npy per video with data.annotations "
            f"naming their annotations (an ActivityNet-style JSON)")
    folder = data.annotations or (annotation_folder(source, spec.sfnet_name) if sfnet else None)
    annotations = load_annotations(spec, folder, data.points, data.points_seed, data.fixed_length)
    annotations = dataclasses.replace(annotations, splits={split: videos[:math.ceil(data.subset * len(videos))]
                                                           for split, videos in annotations.splits.items()})
    if source is None:
        synthetic = SyntheticBenchmark(annotations, dim=data.feature_dim or SYNTHETIC_DIM, seed=data.seed,
                                       difficulty=data.difficulty, boundary_context=data.boundary_context,
                                       cache_dir=data.cache or None)
        sources = {split: synthetic for split in annotations.splits}
    elif sfnet:
        sfnet_features = SfnetFeatures(source, spec.sfnet_name)
        sources = {split: sfnet_features for split in annotations.splits}
    elif per_video:
        npy = NpyFeatures(source, prefix=_file_prefix(source, annotations.splits[spec.train_split]))
        sources = {split: npy for split in annotations.splits}
    else:
        sources = {split: LacpFeatures(source, split) for split in annotations.splits}
    if data.fixed_length and source is not None:  # a twin is generated at the fixed length (its snippet_seconds)
        sources = {split: RescaledFeatures(features, data.fixed_length) for split, features in sources.items()}
    train = _videos(annotations, sources, spec.train_split, with_points=True)
    evaluated = _videos(annotations, sources, data.eval_split, with_points=data.eval_split == spec.train_split)
    for name, items in (("training", train), ("evaluation", evaluated)):
        if not items:
            raise ValueError(f"data: the annotations at {annotations.directory} list no {name} videos "
                             f"({spec.title}'s {spec.train_split if name == 'training' else data.eval_split} split)")
    sizes = {item.features.shape[1] for item in train + evaluated}
    found = sizes.pop()
    if sizes:
        raise ValueError(f"data.source {data.source}: features of sizes {sorted({found, *sizes})} in one dataset; "
                         f"every video must have the same")
    if data.feature_dim is not None and found != data.feature_dim:
        raise ValueError(f"data.feature_dim is {data.feature_dim} but the features in {data.source} have size {found}: "
                         f"leave data.feature_dim unset to take the files' size")
    return annotations, train, evaluated


def _file_prefix(directory: Path, video_ids: list[str]) -> str:
    """``v_`` when the features of a folder of one ``.npy`` per video are named ``v_<id>.npy`` (as ActivityNet's
    feature releases name YouTube ids), else nothing: decided on the first video."""
    first = video_ids[0] if video_ids else ""
    return "v_" if not (directory / f"{first}.npy").is_file() and (directory / f"v_{first}.npy").is_file() else ""


def _videos(annotations: Annotations, sources: dict, split: str, with_points: bool) -> list[VideoItem]:
    """Every video of ``split``, whole."""
    video_ids = annotations.splits[split]
    dataset = VideoDataset(sources[split], video_ids, annotations.class_names, annotations.ground_truth,
                           annotations.points if with_points else None,
                           seconds_per_snippet={video: annotations.snippet_seconds(video) for video in video_ids})
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


def detection_metrics(ground_truth: Segments, predictions: Segments, tiou_thresholds,
                      prefix: str = "") -> dict[str, float]:
    """``{prefix}mAP@t`` for each threshold t and ``{prefix}average_{range}`` for the averages papers quote
    over them (THUMOS14's, GTEA's and BEOID's: 0.1:0.5, 0.3:0.7, 0.1:0.7; ActivityNet's: 0.5:0.95)."""
    result = detection_map(ground_truth, predictions, tiou_thresholds)
    values = [*result.map, *result.averages.values()]
    names = detection_metric_names(tiou_thresholds, prefix)
    return {name: float(value) for name, value in zip(names, values, strict=True)}


def detection_metric_names(tiou_thresholds, prefix: str = "") -> list[str]:
    """The names of :func:`detection_metrics`, in its order."""
    return [*(f"{prefix}mAP@{t:g}" for t in np.asarray(tiou_thresholds, dtype=np.float64)),
            *(f"{prefix}average_{name}" for name in average_names(tiou_thresholds))]


def top_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(B, C) bool: True at each row's ``k`` highest scores (ties: the lower class index first)."""
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
    return torch.zeros_like(scores, dtype=torch.bool).scatter_(1, order, True)


def best_per_group(group: torch.Tensor, score: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` highest ``score`` rows of each ``group`` value (ties: the earlier row first), in
    increasing order."""
    order = torch.sort(score, descending=True, stable=True).indices
    order = order[torch.sort(group[order], stable=True).indices]  # by group, then decreasing score
    sorted_group = group[order]
    rank = torch.arange(len(order), device=group.device) - torch.searchsorted(sorted_group, sorted_group)
    return torch.sort(order[rank < k]).values


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
    step = item.seconds_per_snippet
    return Timeline(item.video_id, list(class_names), len(item.features) * step,
                    ground_truth=[(float(s), float(e), int(c)) for (s, e), c in
                                  zip(item.segments.tolist(), item.segment_labels.tolist())],
                    points=[((t + 0.5) * step, int(c)) for t, c in torch.nonzero(item.point_labels).tolist()],
                    seconds_per_step=step,
                    predictions=[(float(s), float(e), int(c), float(p)) for s, e, c, p in
                                 zip(predictions.start, predictions.end, predictions.label, predictions.score)])
