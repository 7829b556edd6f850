"""Point labels: their table, the LACP/SF-Net CSV format, and the protocols that draw them.

A point is one frame of an action instance with its class. Frames count at the source video's frame rate;
a frame ``f`` of a video at ``fps`` is shown at ``f / fps`` seconds and lies in the feature snippet
``floor(f · r / (n · fps))`` of a dataset whose snippets are n frames at r fps (THUMOS14: 16 frames at
25 fps, the LACP release's convention; GTEA and BEOID: 16 frames at the video's own rate,
``floor(f / 16)``, SF-Net's).

Protocols (:func:`draw_points`), each one point per instance of the ground truth, drawn with a seed:

- ``uniform``: a frame uniformly at random among the instance's frames (SF-Net's protocol; the APN paper
  follows it). An instance ``[s, e]`` seconds spans frames ``round(s · fps) … round(e · fps)``, as in the
  LACP release's CSV.
- ``gaussian``: the instance's centre frame plus Gaussian noise of ``sigma`` frames, rounded and kept inside
  the instance (LACP's ``point_gaussian``: its THUMOS14 points lie −5 to +2.5 frames from the centre,
  standard deviation 1.06 frames, hence the default sigma = 1).
- ``annotator``: the single frames of SF-Net's annotator ``k`` (1-based, files in name order): each frame
  inside an instance of its class marks that instance; an instance the annotator marked twice keeps the
  first frame, a frame outside every instance of its class is left out (counted).
- ``random-annotator``: per instance, one of the annotators who marked it, at random.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ptal.data.activitynet import Segments, rows_by_video
from ptal.data.atomic import atomic_file
from ptal.data.datasets import THUMOS14, DatasetSpec

POINT_COLUMNS = ("class", "class_index", "start_frame", "stop_frame", "video_id", "point")
PROTOCOLS = ("uniform", "gaussian", "annotator", "random-annotator")
DEFAULT_SIGMA_FRAMES = 1.0


def frame_to_snippet(frame, fps, dataset: DatasetSpec = THUMOS14):
    """Snippet index of frame ``frame`` of a video at ``fps`` in ``dataset``'s features (THUMOS14 by default).

    Args:
        frame: int or integer array, frame index at the source frame rate, >= 0.
        fps: float or array broadcastable with ``frame``, the source frame rate, > 0.

    Returns:
        int64 array (a 0-d array for scalars); see the module docstring.
    """
    frame = np.asarray(frame)
    if dataset.feature_fps is None:  # snippets of the video's own frames
        return (frame // dataset.frames_per_snippet).astype(np.int64)
    rate = dataset.feature_fps / (dataset.frames_per_snippet * np.asarray(fps, dtype=np.float64))
    return np.floor(frame * rate).astype(np.int64)


@dataclass(frozen=True)
class PointLabels:
    """Point labels as a flat table of K points, one per annotated action instance.

    Attributes:
        video_ids: the videos that have points, in order of first appearance in the source.
        class_names: the class list ``label`` indexes.
        video: (K,) int64, index into ``video_ids``.
        label: (K,) int64, index into ``class_names``.
        frame: (K,) int64, the point's frame at the source video's frame rate.
        time: (K,) float64, the point's time in seconds (``frame / fps``).
        snippet: (K,) int64, the snippet holding the point (``frame_to_snippet``).
        start_frame, stop_frame: (K,) int64, the frames of the instance the point marks.
    """

    video_ids: list[str]
    class_names: list[str]
    video: np.ndarray
    label: np.ndarray
    frame: np.ndarray
    time: np.ndarray
    snippet: np.ndarray
    start_frame: np.ndarray
    stop_frame: np.ndarray

    @staticmethod
    def empty(class_names: Sequence[str]) -> PointLabels:
        """A table without points."""
        none = np.zeros(0, dtype=np.int64)
        return PointLabels([], list(class_names), none, none, none, none.astype(np.float64), none, none, none)

    def __len__(self) -> int:
        return len(self.video)

    def of_videos(self, video_ids: Sequence[str]) -> PointLabels:
        """The points of the videos ``video_ids`` that have some, in this table's order."""
        wanted = set(video_ids)
        position = {}
        for index, video_id in enumerate(self.video_ids):
            position.setdefault(video_id, index)
        kept = [video_id for video_id in self.video_ids if video_id in wanted]
        rows = np.isin(self.video, [position[video_id] for video_id in kept])
        remap = np.full(len(self.video_ids), -1, dtype=np.int64)
        remap[[position[video_id] for video_id in kept]] = np.arange(len(kept))
        return PointLabels(kept, self.class_names, remap[self.video[rows]], self.label[rows], self.frame[rows],
                           self.time[rows], self.snippet[rows], self.start_frame[rows], self.stop_frame[rows])

    def of_video(self, video_id: str) -> PointLabels:
        """The points of one video (an empty table if it has none), with ``video_ids == [video_id]``."""
        rows = rows_by_video(self).get(video_id, np.zeros(0, dtype=np.int64))
        return PointLabels([video_id], self.class_names, np.zeros(len(rows), dtype=np.int64),
                           self.label[rows], self.frame[rows], self.time[rows], self.snippet[rows],
                           self.start_frame[rows], self.stop_frame[rows])


def point_table(rows: list[tuple[str, int, int, int, int]], fps: Mapping[str, float],
                dataset: DatasetSpec) -> PointLabels:
    """The table of ``(video_id, class index, start_frame, stop_frame, frame)`` rows, in their order."""
    video_index: dict[str, int] = {}
    video = np.asarray([video_index.setdefault(row[0], len(video_index)) for row in rows], dtype=np.int64)
    label, start, stop, frame = (np.asarray([row[i] for row in rows], dtype=np.int64) for i in range(1, 5))
    video_ids = list(video_index)
    rates = np.asarray([fps[v] for v in video_ids], dtype=np.float64)[video]
    return PointLabels(video_ids, list(dataset.class_names), video, label, frame, frame / rates,
                       frame_to_snippet(frame, rates, dataset), start, stop)


def rescale_points(points: PointLabels, durations: Mapping[str, float], length: int,
                   source: str = "its annotations") -> PointLabels:
    """The points in the snippets of videos rescaled to ``length`` snippets each (``data.fixed_length``): snippet
    i of a video of ``duration`` seconds covers ``[i, i + 1) · duration / length``; a point at or past the end
    lies in the last snippet. Every video with points needs its duration (ValueError naming the first without,
    and ``source``, where the durations come from)."""
    missing = [video_id for video_id in points.video_ids if video_id not in durations]
    if missing:
        raise ValueError(f"{source}: video {missing[0]!r} has points but no duration: rescaling to "
                         f"{length} snippets needs every video's duration")
    seconds = np.asarray([durations[video_id] for video_id in points.video_ids], dtype=np.float64)[points.video]
    snippet = np.minimum(np.floor(points.time * length / seconds), length - 1).astype(np.int64)
    return dataclasses.replace(points, snippet=snippet)


def load_point_labels(path: str | PathLike, fps: Mapping[str, float], dataset: DatasetSpec = THUMOS14) -> PointLabels:
    """Read a point-label CSV (SF-Net/LACP format) and convert its points to ``dataset``'s snippets.

    The CSV has a header with the columns ``class, class_index, start_frame, stop_frame, video_id,
    point`` (any order, extra columns ignored): one row per point, frames at the source frame rate,
    ``start_frame``/``stop_frame`` the instance the point was drawn from.

    Every row is checked; the first bad one raises ``ValueError`` naming the file and its line:
    text that is not UTF-8 CSV, a missing or non-integer field, a class not of the dataset or a
    ``class_index`` that disagrees with it, a video absent from ``fps``, a negative frame,
    ``start_frame > stop_frame`` or a point outside ``[start_frame, stop_frame]``. Nothing is dropped.
    (Whether a point lies inside its video's features is checked where the length is known:
    ``VideoDataset``.)

    Args:
        path: the CSV file.
        fps: source frame rate of every video that has points.
        dataset: whose classes and snippets (THUMOS14 by default).
    """
    path = Path(path)
    class_names = dataset.class_names
    class_index = {name: i for i, name in enumerate(class_names)}
    rows = []
    for where, row in _point_rows(path):
        name, video_id = row["class"].strip(), row["video_id"].strip()
        if name not in class_index:
            raise ValueError(f"{where}: unknown class {name!r} (known: {', '.join(class_names)})")
        start, stop, point, index = (_integer(row[c], c, where)
                                     for c in ("start_frame", "stop_frame", "point", "class_index"))
        if index != class_index[name]:
            raise ValueError(f"{where}: class_index {index} disagrees with class {name!r}, "
                             f"which is index {class_index[name]} of the class list")
        if video_id not in fps:
            raise ValueError(f"{where}: video {video_id!r} has no frame rate in the annotations")
        if not 0 <= start <= stop:
            raise ValueError(f"{where}: instance frames [{start}, {stop}] of video {video_id!r} are not "
                             f"0 <= start_frame <= stop_frame")
        if not start <= point <= stop:
            raise ValueError(f"{where}: point {point} of video {video_id!r} is outside its instance "
                             f"[{start}, {stop}]")
        rows.append((video_id, class_index[name], start, stop, point))
    return point_table(rows, fps, dataset)


def write_point_labels(path: str | PathLike, points: PointLabels) -> None:
    """Write ``points`` as a point-label CSV (the columns of ``POINT_COLUMNS``), atomically."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(POINT_COLUMNS)
    for video, label, start, stop, frame in zip(points.video, points.label, points.start_frame, points.stop_frame,
                                                points.frame):
        writer.writerow([points.class_names[label], int(label), int(start), int(stop), points.video_ids[video],
                         int(frame)])
    with atomic_file(path) as file:
        file.write(text.getvalue().encode())


# ---- SF-Net's annotators' single frames ------------------------------------------------------------------
class SingleFrame(NamedTuple):
    video_id: str
    seconds: float
    label: str


def read_single_frames(directory: str | PathLike) -> list[tuple[Path, list[SingleFrame]]]:
    """The single frames of every annotator in ``directory`` (``*.txt`` in name order, SF-Net's
    ``single_frames/<NAME><k>.txt``: lines ``video,seconds,class``, blank lines ignored); ValueError naming the
    file and line of a malformed one."""
    directory = Path(directory)
    files = sorted(directory.glob("*.txt")) if directory.is_dir() else []
    if not files:
        raise FileNotFoundError(f"{directory}: no annotators' single frames (*.txt files)")
    annotators = []
    for path in files:
        frames = []
        for number, line in enumerate(_read_text(path).splitlines(), 1):
            if not line.strip():
                continue
            fields = [field.strip() for field in line.split(",")]
            try:
                seconds = float(fields[1])
            except (IndexError, ValueError):
                seconds = math.nan
            if len(fields) != 3 or not math.isfinite(seconds) or seconds < 0:
                raise ValueError(f"{path}, line {number}: expected video,seconds,class with seconds >= 0, "
                                 f"got {line.strip()!r}")
            frames.append(SingleFrame(fields[0], seconds, fields[2]))
        annotators.append((path, frames))
    return annotators


# ---- protocols ------------------------------------------------------------------------------------------
class DrawnPoints(NamedTuple):
    """What :func:`draw_points` made: the points, the number of instances they were drawn for, and the
    annotators' frames left out (outside every instance of their class)."""

    points: PointLabels
    instances: int
    unmatched_frames: int


def instance_frames(start: float, end: float, fps: float) -> tuple[int, int]:
    """The first and last frame of an instance ``[start, end]`` seconds of a video at ``fps``."""
    first = int(round(start * fps))
    return first, max(first, int(round(end * fps)))


def draw_points(ground_truth: Segments, video_ids: Sequence[str], fps: Mapping[str, float], dataset: DatasetSpec,
                protocol: str, seed: int = 0, *, annotator: int | None = None,
                single_frames: list[tuple[Path, list[SingleFrame]]] | None = None,
                sigma: float = DEFAULT_SIGMA_FRAMES) -> DrawnPoints:
    """One point per ground-truth instance of the videos ``video_ids`` (see the module docstring for the
    protocols), instances in video order then ground-truth order, drawn from ``numpy.random.default_rng(seed)``.

    Args:
        annotator: ``annotator``'s k (1-based).
        single_frames: the annotators' frames (:func:`read_single_frames`), for the annotator protocols.
        sigma: ``gaussian``'s standard deviation in frames.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown point protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    rng = np.random.default_rng(seed)
    marks, unmatched = None, 0
    if protocol in ("annotator", "random-annotator"):
        if not single_frames:
            raise ValueError(f"the {protocol} protocol needs the annotators' single frames")
        chosen = single_frames
        if protocol == "annotator":
            if annotator is None or not 1 <= annotator <= len(single_frames):
                raise ValueError(f"annotator must be 1 to {len(single_frames)} (the single-frame files "
                                 f"{', '.join(path.name for path, _ in single_frames)}), got {annotator}")
            chosen = [single_frames[annotator - 1]]
        marks, unmatched = _marks(ground_truth, dataset, chosen)
    rows = []
    instances = 0
    by_video = rows_by_video(ground_truth)
    for video_id in video_ids:
        if video_id not in by_video:
            continue
        rate = fps[video_id]
        instances += len(by_video[video_id])
        for row in by_video[video_id]:
            first, last = instance_frames(ground_truth.start[row], ground_truth.end[row], rate)
            if protocol == "uniform":
                frame = int(rng.integers(first, last + 1))
            elif protocol == "gaussian":
                centre = (first + last) / 2
                frame = min(max(int(round(centre + sigma * rng.standard_normal())), first), last)
            else:
                by_annotator = marks.get(int(row), {})
                if not by_annotator:
                    continue
                who = sorted(by_annotator)[int(rng.integers(len(by_annotator)))]
                frame = min(max(int(math.floor(by_annotator[who] * rate)), first), last)
            rows.append((video_id, int(ground_truth.label[row]), first, last, frame))
    return DrawnPoints(point_table(rows, fps, dataset), instances, unmatched)


def _marks(ground_truth: Segments, dataset: DatasetSpec, annotators) -> tuple[dict[int, dict[int, float]], int]:
    """{ground-truth row: {annotator: seconds of its first frame inside the instance}}, and the frames inside
    no instance of their class (or of an unknown video or class)."""
    class_index = {name: i for i, name in enumerate(dataset.class_names)}
    video_index = {video: i for i, video in enumerate(ground_truth.video_ids)}
    marks: dict[int, dict[int, float]] = {}
    unmatched = 0
    for who, (_, frames) in enumerate(annotators):
        for frame in frames:
            inside = np.flatnonzero((ground_truth.video == video_index.get(frame.video_id, -1))
                                    & (ground_truth.label == class_index.get(frame.label, -1))
                                    & (ground_truth.start <= frame.seconds) & (frame.seconds <= ground_truth.end))
            if not len(inside):
                unmatched += 1
                continue
            marks.setdefault(int(inside[0]), {}).setdefault(who, frame.seconds)
    return marks, unmatched


# ---- the CSV reader's parts -----------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    """The text of a UTF-8 file (a leading byte-order mark dropped); ValueError naming the file otherwise."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error})") from None


def _point_rows(path: Path):
    """Yield ``(where, row)`` for every row of a point-label CSV, ``where`` naming the file and line; a
    header without the POINT_COLUMNS, a row of another length or unreadable CSV raise ValueError."""
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    try:
        missing = [c for c in POINT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: header {reader.fieldnames} lacks the columns {missing}")
        for row in reader:
            where = f"{path}, line {reader.line_num}"
            if None in row.values() or None in row:
                raise ValueError(f"{where}: expected {len(reader.fieldnames)} fields, got a row of another length")
            yield where, row
    except csv.Error as error:  # the DictReader's line_num is the last good row's; its reader's, the bad one's
        raise ValueError(f"{path}, line {reader.reader.line_num}: not readable as CSV ({error})") from None


def _integer(text: str, column: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{where}: {column} is {text!r}, not an integer") from None
    if not -2**63 <= value < 2**63:
        raise ValueError(f"{where}: {column} is {text!r}, beyond a 64-bit integer")
    return value
