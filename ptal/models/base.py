"""What every model family is to the trainer and the command line: :class:`VideoMethod`, and the data
section of their configs."""
from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import torch
from tqdm import tqdm

from ptal.data.activitynet import Segments
from ptal.data.annotations import check_points_setting
from ptal.data.datasets import DATASETS, dataset_spec
from ptal.data.synthetic import MAX_DIFFICULTY, default_cache
from ptal.models.common import concatenate, detection_metric_names, detection_metrics, ground_truth_of, load_dataset
from ptal.train import Method, all_gather, explicit_sync, shard_blocks
from ptal.viz import Timeline


@dataclass
class DataSettings:
    """The ``data`` section: a benchmark's videos with one point per training instance.

    Attributes:
        dataset: which benchmark (``ptal.data.DATASETS``: thumos14, gtea, beoid): its classes, splits,
            snippet rate, tIoU thresholds and the model settings that differ on it.
        source: ``synthetic`` (the dataset's embedded twin) or a folder of real features: SF-Net's layout
            (``<Name>-I3D-JOINTFeatures.npy`` beside ``<Name>-Annotations/``, whose annotations it then uses) or
            the LACP layout (``features/<split>/{rgb,flow}/<video>.npy``).
        annotations: an annotation folder (LACP's layout, an ActivityNet-style gt.json, or SF-Net's arrays);
            None: SF-Net's beside the features, else the copies packaged with ptal.
        points: the training points: ``annotations`` (the folder's point_labels.csv), a protocol drawn with
            ``points_seed`` (``uniform``, SF-Net's; ``gaussian``; ``annotator<k>``; ``random-annotator``), or a
            point-label CSV; empty: the dataset's default (THUMOS14: annotations; GTEA, BEOID: uniform).
        feature_dim: D, the feature size (synthetic: generated at this size, 2048 if unset; real: read from
            the files, and when set it must agree with them).
        seed, difficulty, boundary_context: the synthetic benchmark's seed, noise level (1 = the default
            benchmark) and weight in [0, 1] of the context-shared motion in start/end phases.
        eval_split: where the trainer evaluates and selects checkpoints (empty: the dataset's evaluated split;
            the releases select on it).
        batch_size: videos (LACP) or windows (APN) per iteration.
        fixed_length: every video's features rescaled to this many snippets by linear interpolation
            (``ptal.data.features.rescale``); unset: the dataset's (ActivityNet: 100, the others: 0, whole videos
            as extracted).
        subset: the fraction in (0, 1] of each split's videos used, the first in the annotations' order (the
            twins' order is random): a smaller run of a large benchmark (``ptal demo --dataset activitynet13``).
        cache: a folder where the synthetic twin's features are kept once generated (float16, memory-mapped
            after, items hold the maps); empty: generated in memory at every run, except the twins of large
            benchmarks (ActivityNet): ``$PTAL_CACHE``, else ``~/.cache/ptal``.
    """

    dataset: str = "thumos14"
    source: str = "synthetic"
    annotations: str | None = None
    points: str = ""
    points_seed: int = 0
    feature_dim: int | None = None
    seed: int = 0
    difficulty: float = 1.0
    boundary_context: float = 0.8
    eval_split: str = ""
    batch_size: int = 16
    fixed_length: int | None = None
    subset: float = 1.0
    cache: str = ""

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"data.dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        spec = dataset_spec(self.dataset)
        self.points = self.points or spec.points
        self.eval_split = self.eval_split or spec.eval_split
        self.fixed_length = (spec.fixed_length or 0) if self.fixed_length is None else self.fixed_length
        if not isinstance(self.fixed_length, int) or isinstance(self.fixed_length, bool) or self.fixed_length < 0:
            raise ValueError(f"data.fixed_length must be an integer >= 0 (0: whole videos), got {self.fixed_length!r}")
        if self.cache and not self.cache.strip():
            raise ValueError(f"data.cache must be a folder path, or empty, got {self.cache!r}")
        if not self.cache and spec.twin is not None and self.source == "synthetic":
            self.cache = default_cache()
        if not 0 < self.subset <= 1:
            raise ValueError(f"data.subset must be a fraction in (0, 1], got {self.subset}")
        check_points_setting(self.points)
        if self.feature_dim is not None and (not isinstance(self.feature_dim, int) or isinstance(self.feature_dim, bool)
                                             or self.feature_dim < 1):
            raise ValueError(f"data.feature_dim must be an integer >= 1, or null to take the features' size, "
                             f"got {self.feature_dim!r}")
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {self.batch_size}")
        if not 0 <= self.difficulty <= MAX_DIFFICULTY:
            raise ValueError(f"data.difficulty must be in [0, {MAX_DIFFICULTY:g}], got {self.difficulty}")
        if not 0 <= self.boundary_context <= 1:
            raise ValueError(f"data.boundary_context must be in [0, 1], got {self.boundary_context}")
        if self.eval_split not in spec.splits:
            raise ValueError(f"data.eval_split must be one of {spec.title}'s splits, {', '.join(spec.splits)}, got "
                             f"{self.eval_split!r}")


class VideoMethod(Method):
    """A model family on a benchmark (``data.dataset``: its embedded twin by default, or real features with
    ``data.source=PATH``), on one device: the trainer's :class:`~ptal.train.Method` plus what the command
    line uses (predictions, timelines, the evaluation videos and ground truth).

    Subclasses set ``name`` and ``config_class`` (a dataclass with ``model``, ``data``, ``train`` sections,
    ``model.name == name``) and implement the training hooks, :meth:`detect_videos` and :meth:`timeline`.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config, device: str | torch.device = "cpu"):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        self.config, self.device = config, torch.device(device)
        annotations, self.train_items, self.eval_items = load_dataset(config.data)
        self.dataset = annotations.dataset
        self.class_names: list[str] = annotations.class_names
        self.tiou_thresholds = self.dataset.tiou_thresholds
        self.train_ground_truth = ground_truth_of(annotations.ground_truth, [item.video_id for item in self.train_items])
        self.eval_ground_truth = ground_truth_of(annotations.ground_truth, [item.video_id for item in self.eval_items])

    # ---- what subclasses implement ------------------------------------------------------------------------
    @abstractmethod
    def detect_videos(self, items: list) -> Segments:
        """Detections (seconds) of whole videos ``items`` (``VideoItem``), with the model in eval mode,
        over ``[item.video_id for item in items]``."""

    @abstractmethod
    def timeline(self, video_id: str) -> Timeline:
        """The content of a timeline picture of one video (training or evaluation)."""

    def pseudo_label_result(self, tiou_thresholds=None):
        """The ``detection_map`` result of the current pseudo labels against the training ground truth (at the
        dataset's thresholds by default), where the family's pseudo labels are instances (APN); None otherwise."""
        return None

    def extra_metrics(self) -> dict[str, float]:
        """Metrics :meth:`evaluate` adds to the evaluation split's (e.g. APN's ``pseudo/...``)."""
        return {}

    def extra_metric_names(self) -> list[str]:
        """The names :meth:`extra_metrics` may return."""
        return []

    # ---- shared ------------------------------------------------------------------------------------------
    def predictions(self) -> Segments:
        """Detections on the evaluation videos, in seconds (model in eval mode, then back). Under torchrun
        every rank detects its share of the videos and gets all of them."""
        was_training = self.model.training
        self.model.eval()
        count = len(self.eval_items)
        share = math.ceil(count / self.context.world_size)  # one contiguous block of videos per rank
        parts = [(block.start, self.detect_videos(self.eval_items[block.start:block.stop]))
                 for block in shard_blocks(self.context, count, share)]
        self.model.train(was_training)
        if self.context.is_distributed:
            with explicit_sync():
                parts = sorted((part for rank_parts in all_gather(self.context, parts) for part in rank_parts),
                               key=lambda part: part[0])
        return concatenate([item.video_id for item in self.eval_items], self.class_names, parts)

    def metric_names(self) -> list[str]:
        return [*detection_metric_names(self.tiou_thresholds), *self.extra_metric_names()]

    def evaluate(self) -> dict[str, float]:
        """``mAP@t`` and the averages on the evaluation split, and the family's :meth:`extra_metrics`."""
        return {**detection_metrics(self.eval_ground_truth, self.predictions(), self.tiou_thresholds),
                **self.extra_metrics()}

    def progress(self, steps: Iterable, description: str) -> Iterable:
        """``steps`` with a progress bar on rank 0 when ``train.progress`` is on."""
        return tqdm(steps, desc=description, unit="batch", leave=False, dynamic_ncols=True,
                    disable=not (self.config.train.progress and self.context.is_main))
