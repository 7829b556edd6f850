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

from ptal.data import load_thumos14
from ptal.data.activitynet import Segments
from ptal.eval.detection import DEFAULT_TIOU_THRESHOLDS
from ptal.models.common import concatenate, detection_metrics, ground_truth_of, load_videos
from ptal.train import Method, all_gather, explicit_sync, shard_blocks
from ptal.viz import Timeline

SPLITS = ("train", "test")


@dataclass
class DataSettings:
    """The ``data`` section: THUMOS14-structured videos with one point per instance.

    Attributes:
        source: ``synthetic`` (the embedded benchmark) or a folder with features in the LACP layout,
            ``features/{train,test}/{rgb,flow}/<video>.npy``.
        annotations: a THUMOS14-format annotation folder; None: the copies packaged with ptal.
        feature_dim: D, the feature size (synthetic: generated at this size; real: checked against the files).
        seed, difficulty, boundary_context: the synthetic benchmark's seed, noise level (1 = the default
            benchmark) and weight in [0, 1] of the context-shared motion in start/end phases.
        eval_split: where the trainer evaluates and selects checkpoints (the releases select on test).
        batch_size: videos (LACP) or windows (APN) per iteration.
    """

    source: str = "synthetic"
    annotations: str | None = None
    feature_dim: int = 2048
    seed: int = 0
    difficulty: float = 1.0
    boundary_context: float = 0.8
    eval_split: str = "test"
    batch_size: int = 16

    def __post_init__(self):
        for name in ("feature_dim", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be >= 1, got {getattr(self, name)}")
        if self.difficulty < 0:
            raise ValueError(f"data.difficulty must be >= 0, got {self.difficulty}")
        if not 0 <= self.boundary_context <= 1:
            raise ValueError(f"data.boundary_context must be in [0, 1], got {self.boundary_context}")
        if self.eval_split not in SPLITS:
            raise ValueError(f"data.eval_split must be one of {', '.join(SPLITS)}, got {self.eval_split!r}")


class VideoMethod(Method):
    """A model family on THUMOS14-structured data (the synthetic benchmark by default, or real features in
    the LACP layout with ``data.source=PATH``), on one device: the trainer's :class:`~ptal.train.Method`
    plus what the command line uses (predictions, timelines, the evaluation videos and ground truth).

    Subclasses set ``name`` and ``config_class`` (a dataclass with ``model``, ``data``, ``train`` sections,
    ``model.name == name``) and implement the training hooks, :meth:`detect_videos` and :meth:`timeline`.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config, device: str | torch.device = "cpu"):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(config).__name__}")
        self.config, self.device = config, torch.device(device)
        annotations = load_thumos14(config.data.annotations)
        self.class_names: list[str] = annotations.class_names
        self.train_items = load_videos(config.data, annotations, "train")
        self.eval_items = load_videos(config.data, annotations, config.data.eval_split)
        if not self.train_items or not self.eval_items:
            raise ValueError(f"data: the annotations at {annotations.directory} list no "
                             f"{'training' if not self.train_items else config.data.eval_split} videos")
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

    def pseudo_label_result(self, tiou_thresholds=DEFAULT_TIOU_THRESHOLDS):
        """The ``detection_map`` result of the current pseudo labels against the training ground truth,
        where the family's pseudo labels are instances (APN); None otherwise."""
        return None

    def extra_metrics(self) -> dict[str, float]:
        """Metrics :meth:`evaluate` adds to the evaluation split's (e.g. APN's ``pseudo/...``)."""
        return {}

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

    def evaluate(self) -> dict[str, float]:
        """``mAP@t`` and the averages on the evaluation split, and the family's :meth:`extra_metrics`."""
        return {**detection_metrics(self.eval_ground_truth, self.predictions()), **self.extra_metrics()}

    def progress(self, steps: Iterable, description: str) -> Iterable:
        """``steps`` with a progress bar on rank 0 when ``train.progress`` is on."""
        return tqdm(steps, desc=description, unit="batch", leave=False, dynamic_ncols=True,
                    disable=not (self.config.train.progress and self.context.is_main))
