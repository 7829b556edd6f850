"""THUMOS14-style annotations: class list, splits, frame rates, point labels, and the conversion of
source-video frames to feature snippets.

Snippets. Features are extracted from the video resampled to ``FEATURE_FPS`` = 25 fps, one feature
per ``SNIPPET_FRAMES`` = 16 frames, so snippet ``i`` covers ``[0.64 i, 0.64 (i + 1))`` seconds.
A frame ``f`` of a source video recorded at ``fps`` frames per second is shown at ``f / fps``
seconds and lies in snippet::

    snippet = floor(f * 25 / (16 * fps)) = floor((f / fps) / 0.64)

This is the convention of the LACP release (its THUMOS dataset marks ``int(point * t_factor)``
with ``t_factor = 25 / (16 * fps)``). Example: frame 2151 of a 30 fps video is at 71.7 s;
71.7 / 0.64 = 112.03, so snippet 112.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from ptal.data.activitynet import Segments, load_ground_truth
from ptal.data.features import check_video_id

FEATURE_FPS = 25
SNIPPET_FRAMES = 16
SNIPPET_SECONDS = SNIPPET_FRAMES / FEATURE_FPS  # 0.64

# THUMOS14's 20 classes in the class_index order of the LACP release.
THUMOS14_CLASSES = (
    "BaseballPitch", "BasketballDunk", "Billiards", "CleanAndJerk", "CliffDiving",
    "CricketBowling", "CricketShot", "Diving", "FrisbeeCatch", "GolfSwing",
    "HammerThrow", "HighJump", "JavelinThrow", "LongJump", "PoleVault",
    "Shotput", "SoccerPenalty", "TennisSwing", "ThrowDiscus", "VolleyballSpiking",
)

PACKAGED_THUMOS14 = Path(__file__).with_name("thumos14")
MAX_VIDEO_SECONDS = 86_400  # a day: THUMOS14's videos are minutes long; a segment beyond is a malformed file

POINT_COLUMNS = ("class", "class_index", "start_frame", "stop_frame", "video_id", "point")


def frame_to_snippet(frame, fps):
    """Snippet index (16-frame snippets at 25 fps) of frame ``frame`` of a video at ``fps``.

    Args:
        frame: int or integer array, frame index at the source frame rate, >= 0.
        fps: float or array broadcastable with ``frame``, the source frame rate, > 0.

    Returns:
        int64 array (a 0-d array for scalars) ``floor(frame * 25 / (16 * fps))``; see the module
        docstring.
    """
    return np.floor(np.asarray(frame) * (FEATURE_FPS / (SNIPPET_FRAMES * np.asarray(fps, dtype=np.float64)))
                    ).astype(np.int64)


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
    """

    video_ids: list[str]
    class_names: list[str]
    video: np.ndarray
    label: np.ndarray
    frame: np.ndarray
    time: np.ndarray
    snippet: np.ndarray

    @staticmethod
    def empty(class_names: Sequence[str]) -> PointLabels:
        """A table without points."""
        none = np.zeros(0, dtype=np.int64)
        return PointLabels([], list(class_names), none, none, none, none.astype(np.float64), none)

    def __len__(self) -> int:
        return len(self.video)

    def of_video(self, video_id: str) -> PointLabels:
        """The points of one video (an empty table if it has none), with ``video_ids == [video_id]``."""
        index = self.video_ids.index(video_id) if video_id in self.video_ids else -1
        rows = self.video == index
        return PointLabels([video_id], self.class_names, np.zeros(int(rows.sum()), dtype=np.int64),
                           self.label[rows], self.frame[rows], self.time[rows], self.snippet[rows])


def read_split(path: str | PathLike) -> list[str]:
    """Video ids listed one per line in ``path`` (blank lines ignored, duplicates and ids that are not plain
    file names rejected)."""
    path = Path(path)
    video_ids = [line.strip() for line in _read_text(path).splitlines() if line.strip()]
    for video_id in video_ids:
        check_video_id(video_id, str(path))
    duplicates = sorted({v for v in video_ids if video_ids.count(v) > 1})
    if duplicates:
        raise ValueError(f"{path}: video ids listed more than once: {duplicates[:5]}")
    return video_ids


def read_fps(path: str | PathLike) -> dict[str, float]:
    """The ``{video_id: frames per second}`` map of ``fps_dict.json``; every rate must be finite and > 0."""
    path = Path(path)
    try:
        fps = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(fps, dict):
        raise ValueError(f"{path}: expected a JSON object video_id -> fps, got a {type(fps).__name__}")
    for video_id, rate in fps.items():
        number = isinstance(rate, (int, float)) and not isinstance(rate, bool) and abs(rate) <= sys.float_info.max
        if not number or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"{path}: video {video_id!r} has frame rate {rate!r}; expected a number > 0")
    return {video_id: float(rate) for video_id, rate in fps.items()}


def load_point_labels(path: str | PathLike, fps: Mapping[str, float],
                      class_names: Sequence[str] = THUMOS14_CLASSES) -> PointLabels:
    """Read a point-label CSV (SF-Net/LACP format) and convert its points to snippets.

    The CSV has a header with the columns ``class, class_index, start_frame, stop_frame, video_id,
    point`` (any order, extra columns ignored): one row per point, frames at the source frame rate,
    ``start_frame``/``stop_frame`` the instance the point was drawn from.

    Every row is checked; the first bad one raises ``ValueError`` naming the file and its line:
    text that is not UTF-8 CSV, a missing or non-integer field, a class not in ``class_names`` or a
    ``class_index`` that disagrees with it, a video absent from ``fps``, a negative frame,
    ``start_frame > stop_frame`` or a point outside ``[start_frame, stop_frame]``. Nothing is dropped.
    (Whether a point lies inside its video's features is checked where the length is known:
    ``VideoDataset``.)

    Args:
        path: the CSV file.
        fps: source frame rate of every video that has points (``read_fps``).
        class_names: the class list; ``label`` indexes it.
    """
    path = Path(path)
    class_index = {name: i for i, name in enumerate(class_names)}
    video_index: dict[str, int] = {}
    columns: dict[str, list] = {"video": [], "label": [], "frame": [], "time": []}
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
            raise ValueError(f"{where}: video {video_id!r} has no frame rate in the fps table")
        if not 0 <= start <= stop:
            raise ValueError(f"{where}: instance frames [{start}, {stop}] of video {video_id!r} are not "
                             f"0 <= start_frame <= stop_frame")
        if not start <= point <= stop:
            raise ValueError(f"{where}: point {point} of video {video_id!r} is outside its instance "
                             f"[{start}, {stop}]")
        columns["video"].append(video_index.setdefault(video_id, len(video_index)))
        columns["label"].append(class_index[name])
        columns["frame"].append(point)
        columns["time"].append(point / fps[video_id])
    video_ids = list(video_index)
    video = np.asarray(columns["video"], dtype=np.int64)
    frame = np.asarray(columns["frame"], dtype=np.int64)
    rates = np.asarray([fps[v] for v in video_ids], dtype=np.float64)[video]
    return PointLabels(video_ids, list(class_names), video, np.asarray(columns["label"], dtype=np.int64),
                       frame, np.asarray(columns["time"], dtype=np.float64), frame_to_snippet(frame, rates))


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
        return int(text)
    except ValueError:
        raise ValueError(f"{where}: {column} is {text!r}, not an integer") from None


@dataclass(frozen=True)
class Thumos14:
    """The THUMOS14 annotations of one directory (see ``load_thumos14``).

    Attributes:
        directory: where they were read from.
        class_names: the 20 classes (``THUMOS14_CLASSES``).
        splits: ``{"train": [...], "test": [...]}`` video ids.
        fps: source frame rate of every video.
        ground_truth: the instances of both splits, in seconds (``Segments``).
        points: the point labels of the train videos.
    """

    directory: Path
    class_names: list[str]
    splits: dict[str, list[str]]
    fps: dict[str, float]
    ground_truth: Segments
    points: PointLabels


def thumos14_files(directory: str | PathLike | None = None) -> dict[str, Path]:
    """The annotation files of a THUMOS14 directory, by role: ``gt``, ``fps``, ``split_train``,
    ``split_test`` and ``points`` (``point_labels.csv``, or ``point_gaussian/point_labels.csv`` where
    the LACP release keeps it). None: the copies packaged with ptal."""
    directory = PACKAGED_THUMOS14 if directory is None else Path(directory)
    points = directory / "point_labels.csv"
    if not points.exists():
        points = directory / "point_gaussian" / "point_labels.csv"
    return {"gt": directory / "gt.json", "fps": directory / "fps_dict.json",
            "split_train": directory / "split_train.txt", "split_test": directory / "split_test.txt",
            "points": points}


def load_thumos14(directory: str | PathLike | None = None) -> Thumos14:
    """Read the THUMOS14 annotations of a directory (``thumos14_files``): ``gt.json``,
    ``fps_dict.json``, ``split_{train,test}.txt`` and the point labels.

    Args:
        directory: a directory holding those files; None reads the copies packaged with ptal
            (``ptal/data/thumos14``, from the LACP release; see its PROVENANCE.md).

    Raises:
        FileNotFoundError: the directory, or one of its files, does not exist.
        ValueError: a file is malformed; the message names it.
    """
    if directory is not None and not Path(directory).is_dir():
        raise FileNotFoundError(f"THUMOS14 annotation directory {directory} does not exist or is not a directory")
    files = thumos14_files(directory)
    names = {"points": "point_labels.csv (or point_gaussian/point_labels.csv)"}
    missing = [names.get(role, path.name) for role, path in files.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"THUMOS14 annotation directory {files['gt'].parent} lacks {', '.join(missing)}")
    fps = read_fps(files["fps"])
    class_names = list(THUMOS14_CLASSES)
    splits = {split: read_split(files[f"split_{split}"]) for split in ("train", "test")}
    ground_truth = load_ground_truth(files["gt"], class_names=class_names)
    outside = np.flatnonzero((ground_truth.start < 0) | (ground_truth.end > MAX_VIDEO_SECONDS))
    if len(outside):
        row = outside[0]
        raise ValueError(f"{files['gt']}: video {ground_truth.video_ids[ground_truth.video[row]]!r} has the segment "
                         f"[{ground_truth.start[row]}, {ground_truth.end[row]}] s, outside [0, {MAX_VIDEO_SECONDS}] s")
    for split, video_ids in splits.items():
        for role, known in (("fps", fps), ("gt", set(ground_truth.video_ids))):
            without = [video_id for video_id in video_ids if video_id not in known]
            if without:
                raise ValueError(f"{files[f'split_{split}']}: {len(without)} video(s) not in {files[role]}, "
                                 f"e.g. {without[0]!r}")
    return Thumos14(
        directory=files["gt"].parent,
        class_names=class_names,
        splits=splits,
        fps=fps,
        ground_truth=ground_truth,
        points=load_point_labels(files["points"], fps, class_names),
    )
