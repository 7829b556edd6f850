"""Timeline pictures of one video: ground truth, points, score sequences, pseudo labels, predictions."""
from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np
import torch

from ptal.data.atomic import atomic_file
from ptal_core.runs import runs


@dataclass
class Timeline:
    """What to draw for one video; times in seconds, sequences sampled every ``seconds_per_step``.

    Attributes:
        video_id, class_names, duration: the video and its classes.
        ground_truth: (start, end, class) instances.
        points: (time, class) point labels.
        sequences: name -> (class or None, values (T,)) curves, e.g. the CAS of a class.
        seconds_per_step: time step of the sequences and the pseudo labels.
        pseudo_labels: name -> (class, 0/1 values (T,)) dense labels to draw as bands.
        predictions: (start, end, class, score) detections; the best ``max_predictions`` are drawn.
        proposals: (start, end, score) class-agnostic proposals (APN's, before NMS), drawn in a row of their own.
    """
    video_id: str
    class_names: list[str]
    duration: float
    ground_truth: list[tuple[float, float, int]] = field(default_factory=list)
    points: list[tuple[float, int]] = field(default_factory=list)
    sequences: dict[str, tuple[int | None, np.ndarray]] = field(default_factory=dict)
    seconds_per_step: float = 0.64
    pseudo_labels: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)
    predictions: list[tuple[float, float, int, float]] = field(default_factory=list)
    max_predictions: int = 15
    proposals: list[tuple[float, float, float]] = field(default_factory=list)


def draw_timeline(timeline: Timeline, path: str | PathLike) -> None:
    """Write the timeline of one video as a PNG (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = sorted({c for *_, c in timeline.ground_truth} | {c for _, c in timeline.points}
                     | {c for c, _ in timeline.sequences.values() if c is not None}
                     | {p[2] for p in timeline.predictions[:timeline.max_predictions]})
    colour = {c: plt.cm.tab10(i % 10) for i, c in enumerate(classes)}
    neutral = iter(["grey", "black", "tab:brown", "tab:olive"] * len(timeline.sequences))
    rows = 3 + bool(timeline.pseudo_labels) + bool(timeline.proposals)
    figure, axes = plt.subplots(rows, 1, figsize=(12, 1.6 * rows + 1), sharex=True,
                                gridspec_kw={"height_ratios": [1, 2.5] + [1] * (rows - 2)})
    ground, curves, *bands = axes
    if timeline.proposals:
        proposed, *bands = bands
        for level, (start, end, score) in enumerate(sorted(timeline.proposals, key=lambda p: -p[2])):
            proposed.barh(level, end - start, left=start, height=0.8, color="grey", alpha=0.3 + 0.7 * min(1.0, score))
        proposed.set_title(f"top {len(timeline.proposals)} proposals (before NMS)")
        proposed.set_yticks([])
    ground.set_title(f"{timeline.video_id}: ground truth and points")
    for start, end, c in timeline.ground_truth:
        ground.axvspan(start, end, color=colour[c], alpha=0.5)
    for time, c in timeline.points:
        ground.axvline(time, color="black", linewidth=1.5)
    ground.set_yticks([])
    for name, (c, values) in timeline.sequences.items():
        times = (np.arange(len(values)) + 0.5) * timeline.seconds_per_step
        curves.plot(times, values, label=name, color=colour[c] if c is not None else next(neutral), linewidth=1)
    curves.set_ylim(0, 1.02)
    curves.legend(loc="upper right", fontsize=7, ncol=2)
    curves.set_title("scores")
    if timeline.pseudo_labels:
        pseudo, predicted = bands
        for name, (c, values) in timeline.pseudo_labels.items():
            for start, end in runs(torch.as_tensor(np.asarray(values)).bool()).tolist():
                pseudo.axvspan(start * timeline.seconds_per_step, (end + 1) * timeline.seconds_per_step,
                               color=colour.get(c, "grey"), alpha=0.5)
        pseudo.set_title("pseudo labels")
        pseudo.set_yticks([])
    else:
        (predicted,) = bands
    best = sorted(timeline.predictions, key=lambda p: -p[3])[:timeline.max_predictions]
    for level, (start, end, c, score) in enumerate(best):
        predicted.barh(level, end - start, left=start, height=0.8, color=colour[c], alpha=0.4 + 0.6 * min(1.0, score))
    predicted.set_title(f"top {len(best)} predictions")
    predicted.set_yticks([])
    predicted.set_xlabel("time (s)")
    predicted.set_xlim(0, timeline.duration)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[c]) for c in classes]
    figure.legend(handles, [timeline.class_names[c] for c in classes], loc="lower center", ncol=min(6, len(classes) or 1))
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    with atomic_file(path) as file:
        figure.savefig(file, format="png", dpi=110)
    plt.close(figure)

