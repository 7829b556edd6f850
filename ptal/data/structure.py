"""The statistical structure of a benchmark whose annotations ptal does not package (ActivityNet: the user
downloads them): videos, durations, classes and instances drawn to the published statistics of its
``DatasetSpec.twin``, seeded. It is statistical, not the real annotations: the counts per split are the real ones,
the rest are ptal's choices below, stated in docs/datasets.md.

- Videos: ``<split>_<index:05d>``, the published number per split, 30 fps.
- Durations: log-normal with the published mean duration and a log standard deviation of ``DURATION_LOG_STD``
  (0.6: half the videos between 0.6x and 1.5x the median), at least ``MIN_DURATION`` seconds.
- Classes: one class per video (an ActivityNet video shows one activity), balanced: video i of a split is class
  ``i mod C`` before a seeded shuffle.
- Instances: every video has one; the published total's remaining instances go to videos drawn uniformly with
  replacement, so the count per split is exactly the published one (1.54 per video on ActivityNet 1.3).
  A video of K instances is cut into K equal slots; each slot holds one instance whose length is a uniform
  fraction in [``MIN_FILL``, ``MAX_FILL``] of the slot, at a uniform position in it: single instances run
  "evenly from short to long" (the APN paper on ActivityNet), from 10 % to 95 % of their video.
"""
from __future__ import annotations

import math

import numpy as np

from ptal.data.activitynet import Segments
from ptal.data.datasets import DatasetSpec

DURATION_LOG_STD = 0.6
MIN_DURATION = 5.0
MIN_FILL, MAX_FILL = 0.1, 0.95
TWIN_FPS = 30.0


def statistical_structure(dataset: DatasetSpec, seed: int = 0):
    """(splits, fps, durations, ground truth) of ``dataset``'s twin (``dataset.twin`` must be set): the module
    docstring's draws, determined by ``seed``."""
    statistics = dataset.twin
    if statistics is None:
        raise ValueError(f"{dataset.title} has no twin statistics: its twin is laid on its packaged annotations")
    rng = np.random.default_rng([seed, len(dataset.class_names)])
    classes = len(dataset.class_names)
    mu = math.log(statistics.mean_duration) - DURATION_LOG_STD ** 2 / 2  # the log-normal's mean is mean_duration
    splits, durations, columns = {}, {}, []
    first_video = 0
    for split in dataset.splits:
        count, instances = statistics.videos[split], statistics.instances[split]
        video_ids = [f"{split}_{i:05d}" for i in range(count)]
        seconds = np.maximum(rng.lognormal(mu, DURATION_LOG_STD, count), MIN_DURATION)
        label = rng.permutation(np.arange(count) % classes)
        per_video = 1 + np.bincount(rng.integers(0, count, instances - count), minlength=count)
        video = np.repeat(np.arange(count), per_video)
        slot = np.arange(len(video)) - np.repeat(np.cumsum(per_video) - per_video, per_video)  # index in its video
        width = seconds[video] / per_video[video]
        length = rng.uniform(MIN_FILL, MAX_FILL, len(video)) * width
        start = slot * width + rng.uniform(0, 1, len(video)) * (width - length)
        columns.append((video + first_video, start, start + length, label[video]))
        splits[split] = video_ids
        durations.update(zip(video_ids, seconds.tolist()))
        first_video += count
    video_ids = [video for videos in splits.values() for video in videos]
    video, start, end, label = (np.concatenate(column) for column in zip(*columns))
    ground_truth = Segments(video_ids, list(dataset.class_names), video.astype(np.int64), start, end,
                            label.astype(np.int64))
    return splits, dict.fromkeys(video_ids, TWIN_FPS), durations, ground_truth
