"""Timeline pictures of one video: ground truth, points, score sequences, pseudo labels, predictions.

A class has the same colour in every picture and every row (:func:`class_colour`); each prediction bar
is labelled with its class and score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
import torch

from ptal.data.atomic import atomic_file
from ptal_core.runs import runs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGURE_WIDTH = 12.0  # inches
ROW_HEIGHTS = {"proposals": 1.2, "ground truth": 0.9, "scores": 2.2, "pseudo labels": 0.9}  # inches
PREDICTION_ROW_HEIGHT = 0.18  # inches per prediction bar, room for its label
LABEL_FONT_SIZE = 7.0  # points
LEGEND_COLUMNS = 6
_CHARACTER_WIDTH = 0.6  # of the font size, a generous average for the width a label needs
_AXES_WIDTH = FIGURE_WIDTH - 1.0  # inches, about, once the margins are taken


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
        predictions: (start, end, class, score) detections; the best ``max_predictions`` are drawn, each
            in a row of its own labelled with its class and score.
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


def class_colour(class_index: int) -> tuple[float, float, float, float]:
    """RGBA colour of a class, the same in every picture: tab20's strong colours (tab10's) for classes 0-9,
    its light ones for 10-19, and so on again from 20."""
    import matplotlib  # imported on use: the models import Timeline, few of their users draw

    return matplotlib.colormaps["tab20"](2 * (class_index % 10) + (class_index // 10) % 2)


def draw_timeline(timeline: Timeline, path: str | PathLike) -> None:
    """Write the timeline of one video as a PNG (atomically)."""
    figure = timeline_figure(timeline)
    with atomic_file(path) as file:
        figure.savefig(file, format="png", dpi=110)


def timeline_figure(timeline: Timeline) -> Figure:
    """The timeline picture of one video: rows of axes "ground truth" (and points), "scores" (the sequences),
    "proposals", "pseudo labels" and "predictions", each named so (``axes.get_label()``); the scores, proposals
    and pseudo labels rows only when there are some.

    Built without pyplot: no backend is selected and nothing needs closing.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    best = sorted(timeline.predictions, key=lambda p: -p[3])[:timeline.max_predictions]
    classes = sorted({c for *_, c in timeline.ground_truth} | {c for _, c in timeline.points}
                     | {c for c, _ in timeline.sequences.values() if c is not None}
                     | {c for c, _ in timeline.pseudo_labels.values()} | {p[2] for p in best})
    rows = ["ground truth", *(["scores"] if timeline.sequences else []),
            *(["proposals"] if timeline.proposals else []), *(["pseudo labels"] if timeline.pseudo_labels else [])]
    heights = [ROW_HEIGHTS[row] for row in rows] + [max(1.0, PREDICTION_ROW_HEIGHT * len(best))]
    legend_height = 0.25 * math.ceil(max(len(classes), 1) / LEGEND_COLUMNS) + 0.15
    figure = Figure(figsize=(FIGURE_WIDTH, sum(heights) + 0.5 * len(heights) + 0.4 + legend_height))
    axes = dict(zip([*rows, "predictions"],
                    figure.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})))
    for name, ax in axes.items():
        ax.set_label(name)
    _draw_ground_truth(axes["ground truth"], timeline)
    if "scores" in axes:
        _draw_sequences(axes["scores"], timeline)
    if "proposals" in axes:
        _draw_proposals(axes["proposals"], timeline.proposals)
    if "pseudo labels" in axes:
        _draw_pseudo_labels(axes["pseudo labels"], timeline)
    _draw_predictions(axes["predictions"], best, timeline)
    handles = [Rectangle((0, 0), 1, 1, color=class_colour(c)) for c in classes]
    figure.legend(handles, [timeline.class_names[c] for c in classes], loc="lower center",
                  ncol=min(LEGEND_COLUMNS, len(classes) or 1))
    figure.tight_layout(rect=(0, legend_height / figure.get_figheight(), 1, 1))
    return figure


def _draw_ground_truth(ax, timeline: Timeline) -> None:
    drawn = [kind for kind, items in (("ground truth", timeline.ground_truth), ("points", timeline.points)) if items]
    ax.set_title(f"{timeline.video_id}: {' and '.join(drawn) if drawn else 'no ground truth'}")
    for start, end, c in timeline.ground_truth:
        ax.axvspan(start, end, color=class_colour(c), alpha=0.6)
    for time, c in timeline.points:
        ax.axvline(time, color="black", linewidth=1)
        ax.plot([time], [0.85], marker="v", markersize=8, color=class_colour(c), markeredgecolor="black")
    ax.set_ylim(0, 1)
    ax.set_yticks([])


def _draw_sequences(ax, timeline: Timeline) -> None:
    """A class's curve in its colour, the others (background, boundaries) black, each dashed differently."""
    classless_styles = iter(["--", ":", "-."] * len(timeline.sequences))
    for name, (c, values) in timeline.sequences.items():
        times = (np.arange(len(values)) + 0.5) * timeline.seconds_per_step
        if c is None:
            ax.plot(times, values, label=name, color="black", linestyle=next(classless_styles), linewidth=1)
        else:
            ax.plot(times, values, label=name, color=class_colour(c), linewidth=1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    ax.set_title("scores")


def _draw_proposals(ax, proposals: list[tuple[float, float, float]]) -> None:
    for level, (start, end, score) in enumerate(sorted(proposals, key=lambda p: -p[2])):
        ax.barh(level, end - start, left=start, height=0.8, color="grey", alpha=0.3 + 0.7 * min(1.0, score))
    ax.set_title(f"top {len(proposals)} proposals (before NMS)")
    ax.set_yticks([])


def _draw_pseudo_labels(ax, timeline: Timeline) -> None:
    for c, values in timeline.pseudo_labels.values():
        for start, end in runs(torch.as_tensor(np.asarray(values)).bool()).tolist():
            ax.axvspan(start * timeline.seconds_per_step, (end + 1) * timeline.seconds_per_step,
                       color=class_colour(c), alpha=0.6)
    ax.set_title("pseudo labels")
    ax.set_yticks([])


def _draw_predictions(ax, best: list[tuple[float, float, int, float]], timeline: Timeline) -> None:
    """One bar per prediction, the best on top, labelled "class score" on the side of the bar with more room
    (inside the bar when neither side has enough)."""
    seconds_per_inch = timeline.duration / _AXES_WIDTH
    for level, (start, end, c, score) in enumerate(best):
        ax.barh(level, end - start, left=start, height=0.8, color=class_colour(c))
        label = f"{timeline.class_names[c]} {score:.2f}"
        width = len(label) * _CHARACTER_WIDTH * LABEL_FONT_SIZE / 72 * seconds_per_inch
        room_left, room_right = start, timeline.duration - end
        if max(room_left, room_right) < width:
            x, alignment = (start + end) / 2, "center"
        elif room_right >= room_left:
            x, alignment = end + 0.01 * timeline.duration, "left"
        else:
            x, alignment = start - 0.01 * timeline.duration, "right"
        ax.text(x, level, label, ha=alignment, va="center", fontsize=LABEL_FONT_SIZE, clip_on=True)
    ax.set_ylim(len(best) - 0.5 if best else 0.5, -0.5)
    ax.set_title(f"top {len(best)} predictions" if best else "no predictions")
    ax.set_yticks([])
    ax.set_xlabel("time (s)")
    ax.set_xlim(0, timeline.duration)
