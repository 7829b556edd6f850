"""A benchmark's annotations: its videos by split, their frame rates and durations, the ground truth, and
the training points; read from the three kinds of annotation folder users have (:func:`load_annotations`).

- LACP's layout (THUMOS14 in the LACP release, and ptal's packaged copy): ``gt.json`` (ActivityNet
  style), ``fps_dict.json`` (video -> source fps), ``split_<split>.txt`` per split of the dataset (THUMOS14:
  ``split_train.txt``, ``split_test.txt``), ``point_labels.csv`` (or ``point_gaussian/point_labels.csv``).
- An ActivityNet-style ``gt.json`` alone, its ``subset`` fields naming the splits and optional ``fps`` and
  ``duration`` fields per video (SF-Net's ``gtea_groundtruth.json`` and ``beoid_groundtruth.json``, packaged
  as ``ptal/data/{gtea,beoid}/gt.json``).
- SF-Net's ``<Name>-Annotations/`` arrays (``videoname.npy``, ``subset.npy``, ... : :mod:`ptal.data.sfnet`).

Any of them may hold SF-Net's annotators' single frames in ``single_frames/``. Frame rates the files do not
give are the dataset's ``default_fps`` (or, for THUMOS14, those of ptal's packaged ``fps_dict.json``).

THUMOS14 conventions kept as names: features are one vector per ``SNIPPET_FRAMES`` = 16 frames of the
video resampled to ``FEATURE_FPS`` = 25 fps, so snippet ``i`` covers ``[0.64 i, 0.64 (i + 1))`` seconds.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from ptal.data.activitynet import Segments, load_ground_truth, read_json_document, rows_by_video, subset_videos
from ptal.data.datasets import THUMOS14, DatasetSpec, dataset_spec
from ptal.data.features import check_video_id
from ptal.data.points import (DEFAULT_SIGMA_FRAMES, PROTOCOLS, DrawnPoints, PointLabels, _read_text, draw_points,
                              load_point_labels, read_single_frames, rescale_points)
from ptal.data.sfnet import read_npy, text_column
from ptal.data.structure import statistical_structure

FEATURE_FPS = 25
SNIPPET_FRAMES = 16
SNIPPET_SECONDS = SNIPPET_FRAMES / FEATURE_FPS  # 0.64
THUMOS14_CLASSES = THUMOS14.class_names
PACKAGED_THUMOS14 = THUMOS14.packaged
POINTS_FROM_FILES = "annotations"  # data.points: the annotation folder's point_labels.csv
ANNOTATOR = "annotator"  # data.points=annotatorK: annotator K's single frames
MAX_VIDEO_SECONDS = 86_400  # a day: the benchmarks' videos are minutes long; a segment beyond is a malformed file
MAX_FPS = 1_000  # video frame rates are 15 to 60 (high-speed cameras: hundreds); a rate beyond is a malformed file


@dataclass(frozen=True)
class Annotations:
    """The annotations of one benchmark, read from one folder (see ``load_annotations``).

    Attributes:
        dataset: the benchmark's description.
        directory: where they were read from.
        class_names: the dataset's classes.
        splits: each split of the dataset -> its video ids.
        fps: source frame rate of every video.
        durations: seconds, of the videos whose files give one.
        ground_truth: the instances of every split, in seconds (``Segments``).
        points: the point labels of the training videos (in the snippets ``snippet_seconds`` gives).
        fixed_length: every video rescaled to this many snippets (``data.fixed_length``); 0: as extracted.
    """

    dataset: DatasetSpec
    directory: Path
    class_names: list[str]
    splits: dict[str, list[str]]
    fps: dict[str, float]
    durations: dict[str, float]
    ground_truth: Segments
    points: PointLabels
    fixed_length: int = 0

    def snippet_seconds(self, video_id: str) -> float:
        """Seconds covered by one feature snippet of the video (rescaled: its duration / ``fixed_length``)."""
        if self.fixed_length:
            if video_id not in self.durations:
                raise ValueError(f"{self.directory}: video {video_id!r} has no duration; rescaling to "
                                 f"{self.fixed_length} snippets (data.fixed_length) needs every video's duration")
            return self.durations[video_id] / self.fixed_length
        rate = self.dataset.feature_fps or self.fps[video_id]
        return self.dataset.frames_per_snippet / rate


def read_split(path: str | PathLike) -> list[str]:
    """Video ids listed one per line in ``path`` (blank lines ignored, duplicates and ids that are not plain
    file names rejected)."""
    path = Path(path)
    return _checked_ids([line.strip() for line in _read_text(path).splitlines() if line.strip()], path)


def _checked_ids(video_ids: list[str], path) -> list[str]:
    """``video_ids``, each a plain file name and listed once; ValueError naming ``path`` otherwise."""
    for video_id in video_ids:
        check_video_id(video_id, str(path))
    duplicates = sorted(video_id for video_id, count in Counter(video_ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"{path}: video ids listed more than once: {duplicates[:5]}")
    return video_ids


def read_fps(path: str | PathLike) -> dict[str, float]:
    """The ``{video_id: frames per second}`` map of ``fps_dict.json``; every rate must be a number in (0, MAX_FPS]."""
    path = Path(path)
    try:
        fps = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(fps, dict):
        raise ValueError(f"{path}: expected a JSON object video_id -> fps, got a {type(fps).__name__}")
    return {video_id: _frame_rate(rate, f"{path}: video {video_id!r} has frame rate") for video_id, rate in fps.items()}


def thumos14_files(directory: str | PathLike | None = None) -> dict[str, Path]:
    """The annotation files of a THUMOS14 directory in LACP's layout, by role: ``gt``, ``fps``,
    ``split_train``, ``split_test`` and ``points``. None: the copies packaged with ptal."""
    return lacp_files(THUMOS14, directory)


def lacp_files(dataset: DatasetSpec, directory: str | PathLike | None = None) -> dict[str, Path]:
    """The files of an annotation folder in LACP's layout, by role: ``gt``, ``fps``, ``split_<split>`` for each
    split of the dataset, and ``points`` (``point_labels.csv``, or ``point_gaussian/point_labels.csv`` where
    the LACP release keeps it). None: the dataset's packaged folder."""
    directory = dataset.packaged if directory is None else Path(directory)
    return {"gt": directory / "gt.json", "fps": directory / "fps_dict.json",
            **{f"split_{split}": directory / f"split_{split}.txt" for split in dataset.splits},
            "points": _points_file(directory)}


def load_thumos14(directory: str | PathLike | None = None) -> Annotations:
    """THUMOS14's annotations in LACP's layout (``load_annotations("thumos14", directory)``); None reads the
    copies packaged with ptal (``ptal/data/thumos14``, from the LACP release; see its PROVENANCE.md)."""
    return load_annotations(THUMOS14, directory)


def load_annotations(dataset: DatasetSpec | str, directory: str | PathLike | None = None,
                     points: str | None = None, points_seed: int = 0, fixed_length: int | None = None) -> Annotations:
    """Read a benchmark's annotations from a folder of any kind in the module docstring, or an ActivityNet-style
    JSON file (ActivityNet's ``activity_net.v1-3.min.json``).

    Args:
        dataset: its description or name.
        directory: the folder or JSON file; None, the copies packaged with ptal (``dataset.packaged``), or for a
            benchmark ptal packages no annotations of (ActivityNet), its twin's statistical structure
            (:mod:`ptal.data.structure`).
        points: which training points: ``annotations``, the folder's point-label CSV (or, where it has none,
            the packaged one's); a protocol of :mod:`ptal.data.points` (``uniform``, ``gaussian``,
            ``annotator<k>``, ``random-annotator``) drawn from the ground truth with ``points_seed``; or a path
            to a point-label CSV. None: the dataset's default (``dataset.points``).
        fixed_length: every video rescaled to this many snippets (0: as extracted; None: the dataset's
            ``fixed_length``): the points' snippets and ``snippet_seconds`` follow.

    Raises:
        FileNotFoundError: the folder, or a file it needs, does not exist.
        ValueError: a file is malformed; the message names it (and the video).
    """
    spec = dataset_spec(dataset) if isinstance(dataset, str) else dataset
    fixed_length = (spec.fixed_length or 0) if fixed_length is None else fixed_length
    points = points or spec.points
    if directory is None and spec.twin is not None:
        directory = spec.packaged
        splits, fps, durations, ground_truth = statistical_structure(spec)
    elif directory is not None and Path(directory).suffix.lower() == ".json":
        directory = Path(directory)
        if not directory.is_file():
            raise FileNotFoundError(f"{spec.title} annotation file {directory} does not exist")
        splits, fps, durations, ground_truth = _read_activitynet(spec, directory)
    else:
        directory = spec.packaged if directory is None else Path(directory)
        splits, fps, durations, ground_truth = _read_folder(spec, directory, points)
    annotations = Annotations(spec, directory, list(spec.class_names), splits, fps, durations, ground_truth,
                              PointLabels.empty(spec.class_names), fixed_length)
    drawn = training_points(annotations, points, points_seed)
    if fixed_length:
        drawn = rescale_points(drawn, durations, fixed_length, source=str(directory))
    return dataclasses.replace(annotations, points=drawn)


def _read_folder(spec: DatasetSpec, directory: Path, points: str):
    """(splits, fps, durations, ground truth) of an annotation folder of any of the three kinds."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{spec.title} annotation directory {directory} does not exist or is not a directory")
    if (directory / "videoname.npy").is_file():
        splits, fps, durations, ground_truth = _read_sfnet(spec, directory)
    elif (directory / f"split_{spec.train_split}.txt").is_file() or (directory / "fps_dict.json").is_file():
        splits, fps, durations, ground_truth = _read_lacp(spec, directory, with_points=points == POINTS_FROM_FILES)
    elif (directory / "gt.json").is_file():
        splits, fps, durations, ground_truth = _read_activitynet(spec, directory / "gt.json")
    else:
        raise FileNotFoundError(
            f"{directory}: no {spec.title} annotations: expected gt.json (ActivityNet style, with subsets), "
            f"or also fps_dict.json and split_<split>.txt (LACP's layout), or SF-Net's arrays (videoname.npy, ...)")
    return splits, fps, durations, ground_truth


def training_points(annotations: Annotations, points: str, seed: int) -> PointLabels:
    """The training points ``points`` names (see ``load_annotations``)."""
    dataset, directory = annotations.dataset, annotations.directory
    protocol, annotator = _protocol(points)
    if protocol is not None:
        return drawn_points(annotations, protocol, seed, annotator=annotator).points
    if points != POINTS_FROM_FILES:
        return _inside_instances(load_point_labels(points, annotations.fps, dataset), annotations, points)
    path = _points_file(directory)
    if path.is_file():
        return _inside_instances(load_point_labels(path, annotations.fps, dataset), annotations, path)
    path = _points_file(dataset.packaged)  # SF-Net's and ActivityNet-style folders have none: the packaged ones
    if not path.is_file():
        raise FileNotFoundError(f"{directory} holds no point_labels.csv (and ptal packages none for "
                                f"{dataset.title}): choose data.points: {', '.join(_point_choices())} or a CSV")
    packaged_fps = {**_packaged_fps(dataset.packaged / "fps_dict.json"), **annotations.fps}
    packaged = load_point_labels(path, packaged_fps, dataset).of_videos(annotations.splits[dataset.train_split])
    return _inside_instances(packaged, annotations, f"{path} (ptal's, for {dataset.title}'s own annotations)")


def _inside_instances(points: PointLabels, annotations: Annotations, source) -> PointLabels:
    """``points``, each of which must lie in an instance of its class in the ground truth (a source frame of
    slack each side); ValueError naming ``source``, the annotations and the video otherwise: a point marks an
    instance, and one that marks none (a CSV for other annotations) would train on background."""
    by_video = rows_by_video(annotations.ground_truth)
    truth, none = annotations.ground_truth, np.zeros(0, dtype=np.int64)
    for index in range(len(points)):
        video_id, label, seconds = points.video_ids[points.video[index]], points.label[index], points.time[index]
        rows = by_video.get(video_id, none)
        slack = 1 / annotations.fps[video_id]
        if not ((truth.label[rows] == label) & (truth.start[rows] - slack <= seconds)
                & (seconds <= truth.end[rows] + slack)).any():
            raise ValueError(f"{source}: video {video_id!r}: the {points.class_names[label]} point at frame "
                             f"{points.frame[index]} ({seconds:.2f} s) lies in no {points.class_names[label]} instance "
                             f"of the ground truth of {annotations.directory}; give points for these annotations "
                             f"(data.points: {', '.join(_point_choices()[1:])} or a CSV)")
    return points


def drawn_points(annotations: Annotations, protocol: str, seed: int, split: str | None = None,
                 annotator: int | None = None, sigma: float = DEFAULT_SIGMA_FRAMES) -> DrawnPoints:
    """Points drawn with a protocol of :mod:`ptal.data.points` for the instances of ``split`` (default: the
    training split), the annotators' single frames read from the folder's ``single_frames/`` (else the
    packaged ones) where the protocol needs them."""
    dataset = annotations.dataset
    frames = None
    if protocol in ("annotator", "random-annotator"):
        folder = annotations.directory / "single_frames"
        frames = read_single_frames(folder if folder.is_dir() else dataset.packaged / "single_frames")
    return draw_points(annotations.ground_truth, annotations.splits[split or dataset.train_split], annotations.fps,
                       dataset, protocol, seed, annotator=annotator, single_frames=frames, sigma=sigma)


def _protocol(points: str) -> tuple[str | None, int | None]:
    """(protocol, annotator) of a ``data.points`` value naming a protocol; (None, None) otherwise."""
    if points.startswith(ANNOTATOR) and points[len(ANNOTATOR):].isdigit():
        return ANNOTATOR, int(points[len(ANNOTATOR):])
    if points in PROTOCOLS and points != ANNOTATOR:
        return points, None
    return None, None


def _point_choices() -> list[str]:
    return [POINTS_FROM_FILES, *(f"{ANNOTATOR}<k>" if p == ANNOTATOR else p for p in PROTOCOLS)]


def check_points_setting(points: str) -> None:
    """ValueError when ``points`` is neither a name of ``load_annotations`` nor a CSV path (``.csv``)."""
    if points != POINTS_FROM_FILES and _protocol(points)[0] is None and not points.lower().endswith(".csv"):
        raise ValueError(f"data.points must be one of {', '.join(_point_choices())} or a path to a point-label "
                         f".csv file, got {points!r}")


def _points_file(directory: Path) -> Path:
    path = directory / "point_labels.csv"
    return path if path.exists() else directory / "point_gaussian" / "point_labels.csv"


# ---- the three folder kinds -----------------------------------------------------------------------------
def _read_lacp(dataset: DatasetSpec, directory: Path, with_points: bool):
    """LACP's layout: gt.json, fps_dict.json, split_<split>.txt, and point_labels.csv when ``with_points`` (the
    points are read apart)."""
    files = lacp_files(dataset, directory)
    names = {"points": "point_labels.csv (or point_gaussian/point_labels.csv)"}
    missing = [names.get(role, path.name) for role, path in files.items()
               if not path.is_file() and (role != "points" or with_points)]
    if missing:
        raise FileNotFoundError(f"{dataset.title} annotation directory {directory} lacks {', '.join(missing)}")
    fps = read_fps(files["fps"])
    splits = {split: read_split(files[f"split_{split}"]) for split in dataset.splits}
    document = read_json_document(files["gt"], "ground truth")
    ground_truth = _within_a_day(load_ground_truth(document, class_names=list(dataset.class_names)), files["gt"])
    for split, video_ids in splits.items():
        for role, known in (("fps", fps), ("gt", set(ground_truth.video_ids))):
            without = [video_id for video_id in video_ids if video_id not in known]
            if without:
                raise ValueError(f"{files[f'split_{split}']}: {len(without)} video(s) not in {files[role]}, "
                                 f"e.g. {without[0]!r}")
    return splits, fps, _rates(dataset, document)[1], ground_truth


def _read_activitynet(dataset: DatasetSpec, path: Path):
    """An ActivityNet-style gt.json: splits from the subsets; fps and duration fields where given."""
    document = read_json_document(path, "ground truth")
    splits = {split: [] for split in dataset.splits}
    for subset, videos in subset_videos(document).items():
        split = dataset.split_of_subset(subset)
        if split is not None:
            splits[split] += videos
    for video_id in (video_id for videos in splits.values() for video_id in videos):
        check_video_id(video_id, str(path))
    if not any(splits.values()):
        raise ValueError(f"{path}: no video of the subsets {', '.join(s for n in dataset.splits.values() for s in n)} "
                         f"({dataset.title}'s splits)")
    ground_truth = _within_a_day(load_ground_truth(document, class_names=list(dataset.class_names)), path)
    fps, durations = _rates(dataset, document)
    return splits, fps, durations, ground_truth


def _within_a_day(ground_truth: Segments, path: Path) -> Segments:
    """``ground_truth``, whose segments must lie in [0, MAX_VIDEO_SECONDS]; ValueError naming the file and video."""
    outside = np.flatnonzero((ground_truth.start < 0) | (ground_truth.end > MAX_VIDEO_SECONDS))
    if len(outside):
        row = outside[0]
        raise ValueError(f"{path}: video {ground_truth.video_ids[ground_truth.video[row]]!r} has the segment "
                         f"[{ground_truth.start[row]}, {ground_truth.end[row]}] s, outside [0, {MAX_VIDEO_SECONDS}] s")
    return ground_truth


def _rates(dataset: DatasetSpec, document) -> tuple[dict[str, float], dict[str, float]]:
    """The frame rate of every video of a ground-truth document (its ``fps`` field, else the dataset's fallback)
    and the durations where it gives them."""
    fps, durations = {}, {}
    for video_id, entry in document.content["database"].items():
        where = f"{document.name}: video {video_id!r}"
        fps[video_id] = _frame_rate(entry["fps"], f"{where} has frame rate") if "fps" in entry else \
            _fallback_fps(dataset, video_id)
        if "duration" in entry:
            durations[video_id] = _duration(entry["duration"], f"{where} has duration")
    return fps, durations


def _read_sfnet(dataset: DatasetSpec, directory: Path):
    """SF-Net's arrays: a video is in the split its subset names, if it has an instance. Every entry is checked;
    errors name the file and the video."""
    paths = {name: directory / f"{name}.npy" for name in ("videoname", "subset", "segments", "labels", "duration")}
    arrays = {name: read_npy(path) for name, path in paths.items()}
    names = _checked_ids(text_column(arrays["videoname"], paths["videoname"]), paths["videoname"])
    subsets = text_column(arrays["subset"], paths["subset"])
    for name, array in arrays.items():
        if array.ndim == 0 or len(array) != len(names):
            raise ValueError(f"{paths[name]}: an array of shape {array.shape}; expected one entry for each of the "
                             f"{len(names)} videos of videoname.npy")
    class_index = {name: i for i, name in enumerate(dataset.class_names)}
    splits = {split: [] for split in dataset.splits}
    rows = []  # (video, start, end, label)
    durations = {}
    for i, (video_id, subset) in enumerate(zip(names, subsets)):
        split = dataset.split_of_subset(subset)
        segments = _sfnet_segments(arrays["segments"][i], f"{paths['segments']}: video {video_id!r}")
        labels = _sfnet_labels(arrays["labels"][i], f"{paths['labels']}: video {video_id!r}", dataset)
        if len(segments) != len(labels):
            raise ValueError(f"{directory}: video {video_id!r} has {len(segments)} segments (segments.npy) but "
                             f"{len(labels)} labels (labels.npy)")
        if split is None or not segments:
            continue
        splits[split].append(video_id)
        durations[video_id] = _duration(_single(arrays["duration"][i]), f"{paths['duration']}: video {video_id!r} has "
                                                                        f"duration")
        rows += [(len(durations) - 1, start, end, class_index[label]) for (start, end), label in zip(segments, labels)]
    video_ids = list(durations)
    columns = np.array(rows, dtype=np.float64).reshape(-1, 4)
    ground_truth = Segments(video_ids, list(dataset.class_names), columns[:, 0].astype(np.int64), columns[:, 1],
                            columns[:, 2], columns[:, 3].astype(np.int64))
    fps = {video_id: _fallback_fps(dataset, video_id) for video_id in video_ids}
    return splits, fps, durations, _within_a_day(ground_truth, paths["segments"])


def _sfnet_segments(entry, where: str) -> list[tuple[float, float]]:
    """A video's entry of segments.npy: a list (or (K, 2) array) of [start, end] seconds, numbers, end >= start."""
    segments = entry.tolist() if isinstance(entry, np.ndarray) else entry
    if not isinstance(segments, (list, tuple)):
        raise ValueError(f"{where}: {segments!r:.60} is not a list of [start, end] segments")
    checked = []
    for segment in segments:
        bounds = segment.tolist() if isinstance(segment, np.ndarray) else segment
        start = end = math.nan
        if isinstance(bounds, (list, tuple)) and len(bounds) == 2 and all(map(_is_number, bounds)):
            with contextlib.suppress(OverflowError):  # an integer no float holds
                start, end = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(start) and math.isfinite(end) and start <= end):
            raise ValueError(f"{where}: segment {bounds!r:.60} is not [start, end] seconds with end >= start")
        checked.append((start, end))
    return checked


def _sfnet_labels(entry, where: str, dataset: DatasetSpec) -> list[str]:
    """A video's entry of labels.npy: a list of class names of the dataset (text or UTF-8 bytes)."""
    labels = entry.tolist() if isinstance(entry, np.ndarray) else entry
    if not isinstance(labels, (list, tuple)):
        raise ValueError(f"{where}: {labels!r:.60} is not a list of class names")
    checked = []
    for label in labels:
        try:
            name = label.decode("utf-8") if isinstance(label, bytes) else label
        except UnicodeDecodeError:
            name = None
        if not isinstance(name, str) or name not in dataset.class_names:
            raise ValueError(f"{where}: label {label!r:.60} is not a class of {dataset.title}")
        checked.append(name)
    return checked


def _single(entry):
    """A duration entry, given as a number or a one-element array or list (SF-Net's (N, 1) arrays)."""
    if isinstance(entry, np.ndarray) and entry.size == 1:
        return entry.reshape(-1)[0]
    if isinstance(entry, (list, tuple)) and len(entry) == 1:
        return entry[0]
    return entry


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_))


def _fallback_fps(dataset: DatasetSpec, video_id: str) -> float:
    """The frame rate of a video its files give none for: the packaged fps table's, else the dataset's."""
    table = dataset.packaged / "fps_dict.json"
    known = _packaged_fps(table) if table.is_file() else {}
    return known.get(video_id, dataset.default_fps)


_PACKAGED_FPS: dict[Path, dict[str, float]] = {}


def _packaged_fps(path: Path) -> dict[str, float]:
    if path not in _PACKAGED_FPS:
        _PACKAGED_FPS[path] = read_fps(path)
    return _PACKAGED_FPS[path]


def _positive(value, what: str) -> float:
    number = math.nan
    if _is_number(value):
        try:
            number = float(value)
        except OverflowError:  # an integer no float holds
            number = math.inf
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{what} {value!r:.60}; expected a number > 0")
    return number


def _duration(value, what: str) -> float:
    """A video's duration in seconds: a number in (0, MAX_VIDEO_SECONDS]."""
    return _at_most(_positive(value, what), MAX_VIDEO_SECONDS, what, "s (a day)")


def _frame_rate(value, what: str) -> float:
    """A video's frame rate: a number in (0, MAX_FPS]."""
    return _at_most(_positive(value, what), MAX_FPS, what, "frames per second")


def _at_most(number: float, limit: float, what: str, unit: str) -> float:
    if number > limit:
        raise ValueError(f"{what} {number!r}; expected at most {limit} {unit}")
    return number
