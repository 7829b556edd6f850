"""ActivityNet-format temporal annotations: reading ground truth and predictions, writing predictions.

Ground truth (the format of THUMOS14's and ActivityNet's ``gt.json``)::

    {"database": {"video_test_0000004": {"subset": "test",
                                         "annotations": [{"segment": ["0.2", "1.1"], "label": "CricketBowling"}]},
                  ...}}

Predictions (the ActivityNet results format)::

    {"version": "...", "external_data": {...},
     "results": {"video_test_0000004": [{"segment": [0.1, 1.3], "label": "CricketBowling", "score": 0.93}]}}

Segment bounds are seconds, given as numbers or numeric strings. Both kinds of file load into a
:class:`Segments` table; every malformed entry raises a ``ValueError`` naming the file, the video and the row.
Subset names (``"test"``, ActionFormer's ``"Test"``) are matched ignoring case; :func:`choose_subset` picks
the subset that predictions are for.
"""
from __future__ import annotations

import contextlib
import gc
import json
import math
import numbers
import os
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import orjson

from ptal.data.atomic import write_json_atomic


@dataclass(frozen=True)
class Segments:
    """A flat table of K temporal segments of a set of videos.

    Attributes:
        video_ids: the videos of the set, including those without any segment; ``video`` indexes it.
        class_names: the classes; ``label`` indexes it.
        video: (K,) int64 index into ``video_ids``.
        start: (K,) float64 start time in seconds.
        end: (K,) float64 end time in seconds, ``end >= start``.
        label: (K,) int64 index into ``class_names``.
        score: (K,) float64 confidence of predictions; None for ground truth.
    """

    video_ids: list[str]
    class_names: list[str]
    video: np.ndarray
    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    score: np.ndarray | None = None

    def __post_init__(self):
        # Lists are kept as given (take() shares its table's: a copy per video was quadratic on ActivityNet).
        for name in ("video_ids", "class_names"):
            if type(getattr(self, name)) is not list:
                object.__setattr__(self, name, list(getattr(self, name)))
        columns = {"video": np.int64, "start": np.float64, "end": np.float64, "label": np.int64}
        if self.score is not None:
            columns["score"] = np.float64
        for name, dtype in columns.items():
            value = getattr(self, name)
            array = np.asarray(value)
            if array.ndim != 1:
                raise ValueError(f"Segments.{name} must be 1-dimensional, got shape {array.shape}")
            if array.size and dtype is np.int64 and not np.issubdtype(array.dtype, np.integer):
                raise TypeError(f"Segments.{name} must hold integers, got dtype {array.dtype}")
            object.__setattr__(self, name, np.ascontiguousarray(array, dtype=dtype))
        lengths = {name: getattr(self, name).shape[0] for name in columns}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Segments columns must have one length, got {lengths}")
        for name, count in (("video", len(self.video_ids)), ("label", len(self.class_names))):
            index = getattr(self, name)
            outside = (index < 0) | (index >= count)
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise ValueError(f"Segments.{name} must index a list of {count}, row {row} is {index[row]}")
        for name in columns.keys() - {"video", "label"}:
            if not np.isfinite(getattr(self, name)).all():
                row = int(np.flatnonzero(~np.isfinite(getattr(self, name)))[0])
                raise ValueError(f"Segments.{name} must be finite, row {row} is {getattr(self, name)[row]}")
        reversed_rows = self.end < self.start
        if reversed_rows.any():
            row = int(np.flatnonzero(reversed_rows)[0])
            raise ValueError(f"Segments must have end >= start, row {row} is [{self.start[row]}, {self.end[row]}]")

    def __repr__(self) -> str:
        kind = "predictions" if self.score is not None else "segments"
        return (f"Segments({len(self)} {kind}, {len(self.video_ids)} videos, "
                f"{len(self.class_names)} classes)")

    def __len__(self) -> int:
        return self.video.shape[0]

    def of_video(self, video_id: str) -> Segments:
        """The rows of one video (same ``video_ids`` and ``class_names``)."""
        rows = rows_by_video(self).get(video_id)
        if rows is None:
            raise KeyError(f"video {video_id!r} is not in video_ids")
        return self.take(rows)

    def take(self, rows) -> Segments:
        """The rows selected by an index array or boolean mask (same ``video_ids`` and ``class_names``)."""
        return Segments(self.video_ids, self.class_names, self.video[rows], self.start[rows], self.end[rows],
                        self.label[rows], None if self.score is None else self.score[rows])


def rows_by_video(table) -> dict[str, np.ndarray]:
    """Each video id of a table with ``video_ids`` and a ``video`` column (``Segments``, ``PointLabels``) -> the
    indices of its rows, in row order; made once per table, so that asking every video for its rows takes time
    linear in the table, not the product of its videos and rows (ActivityNet: 14 950 videos)."""
    cached = table.__dict__.get("_rows_by_video")
    if cached is None:
        order = np.argsort(table.video, kind="stable")
        bounds = np.searchsorted(table.video[order], np.arange(len(table.video_ids) + 1))
        cached = {}
        for index, video_id in enumerate(table.video_ids):
            cached.setdefault(video_id, order[bounds[index]:bounds[index + 1]])  # a repeated id: its first
        object.__setattr__(table, "_rows_by_video", cached)  # tables are frozen; not a field
    return cached


class JsonDocument(NamedTuple):
    """A parsed JSON object and the name its errors give (the file's path, or "ground truth"/"predictions")."""
    name: str
    content: dict


def read_json_document(source, kind: str) -> JsonDocument:
    """The object of a JSON file (path, read once); a parsed dict is named ``kind``; a JsonDocument is kept.

    Every reader of this module takes any of the three, so that one file read is shared."""
    if isinstance(source, JsonDocument):
        return source
    if isinstance(source, dict):
        return JsonDocument(kind, source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"{kind} source must be a path or a dict, got {type(source).__name__}")
    name = os.fspath(source)
    with open(name, "rb") as handle:
        text = handle.read()
    try:
        with _no_garbage_collection():  # millions of new containers, no cycles: collecting would rescan them all
            document = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but Python's json reads, e.g. NaN, is then reported row by row
            document = json.loads(text.decode("utf-8"))  # strictly: json.loads(bytes) lets surrogates through
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{name}: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{name}: must hold a JSON object, got {type(document).__name__}")
    return JsonDocument(name, document)


def subset_videos(source) -> dict[str, list[str]]:
    """Each subset of a ground-truth file -> its video ids, both in file order.

    Subsets whose names differ only in case are one, named as first spelled. A file where no video has a
    ``subset`` field has no subsets ({}); one where only some have it is a ValueError naming a video without.
    """
    name, document = read_json_document(source, "ground truth")
    database = json_field(document, "database", dict, name)
    if not any(isinstance(entry, dict) and "subset" in entry for entry in database.values()):
        return {}
    spelling, videos = {}, {}
    for video_id, entry in database.items():
        where = f"{name}: video {video_id!r}"
        subset = json_field(_video_entry(entry, where), "subset", str, where)
        key = spelling.setdefault(subset.casefold(), subset)
        videos.setdefault(key, []).append(video_id)
    return videos


def predicted_video_ids(source) -> list[str]:
    """The videos of an ActivityNet results file, with or without predictions, in file order."""
    name, document = read_json_document(source, "predictions")
    return list(json_field(document, "results", dict, name))


@dataclass(frozen=True)
class SubsetChoice:
    """The ground-truth videos that an evaluation keeps (see :func:`choose_subset`).

    Attributes:
        name: the kept subset, spelled as in the ground truth; None keeps every video.
        video_counts: each subset of the ground truth -> its number of videos, in file order ({} without subsets).
        predicted_counts: each subset -> the number of its videos that the predictions hold.
        automatic: whether ``name`` was chosen from the predicted videos (``subset="auto"``).
    """

    name: str | None
    video_counts: dict[str, int]
    predicted_counts: dict[str, int]
    automatic: bool

    def describe(self) -> str:
        """One line, e.g. "ground truth has subsets validation (200 videos), test (213): evaluating test, the
        subset of the 213 predicted videos"."""
        if not self.video_counts:
            return "ground truth has no subsets: evaluating every video"
        plural = "s" if len(self.video_counts) > 1 else ""
        where = f"ground truth has subset{plural} {_counts_text(self.video_counts)}"
        if self.name is None:
            return f"{where}: evaluating every video"
        if self.automatic:
            predicted = self.predicted_counts[self.name]
            return f"{where}: evaluating {self.name}, the subset of the {predicted} predicted videos"
        return f"{where}: evaluating {self.name}"


def choose_subset(ground_truth, predicted_videos, subset: str | None = "auto") -> SubsetChoice:
    """The subset of a ground-truth file to evaluate predictions on.

    Args:
        ground_truth: an ActivityNet ground-truth file (path), its parsed dict or a JsonDocument.
        predicted_videos: the ids of the predicted videos (see :func:`predicted_video_ids`); ids outside
            the ground truth are ignored.
        subset: ``"auto"``: the only subset holding predicted videos; with a single subset (or none), every
            video. Predicted videos in several subsets, or in none while there are several, are a ValueError
            listing the subsets: the caller must name one. A subset name: that subset, ignoring case; an
            unknown name is a ValueError listing the subsets. None: every video.

    Returns:
        A :class:`SubsetChoice`; pass its ``name`` to :func:`load_ground_truth`.
    """
    document = read_json_document(ground_truth, "ground truth")
    videos = subset_videos(document)
    video_counts = {name: len(ids) for name, ids in videos.items()}
    subset_of = {video_id: name for name, ids in videos.items() for video_id in ids}
    predicted_counts = dict.fromkeys(videos, 0)
    for video_id in set(predicted_videos):
        if video_id in subset_of:
            predicted_counts[subset_of[video_id]] += 1
    if subset is None:
        return SubsetChoice(None, video_counts, predicted_counts, automatic=False)
    if subset != "auto":
        name = _matching_subset(videos, subset)
        if name is None:
            raise ValueError(_unknown_subset_message(document.name, subset, video_counts))
        return SubsetChoice(name, video_counts, predicted_counts, automatic=False)
    if len(videos) <= 1:
        return SubsetChoice(next(iter(videos), None), video_counts, predicted_counts, automatic=True)
    predicted = [name for name, count in predicted_counts.items() if count]
    if not predicted:
        raise ValueError(f"{document.name}: no predicted video is a ground-truth video, so which subset to evaluate "
                         f"is unclear; the subsets are {_counts_text(video_counts)}: name one "
                         f"(ptal eval --subset NAME)")
    if len(predicted) > 1:
        spans = ", ".join(f"{name} ({predicted_counts[name]} of {count}{' videos predicted' if i == 0 else ''})"
                          for i, (name, count) in enumerate(video_counts.items()))
        raise ValueError(f"{document.name}: the predicted videos lie in several subsets, {spans}: "
                         f"name the one to evaluate (ptal eval --subset NAME)")
    return SubsetChoice(predicted[0], video_counts, predicted_counts, automatic=True)


def load_ground_truth(source, subset: str | None = None, class_names: list[str] | None = None) -> Segments:
    """Ground truth from an ActivityNet-style ``{"database": ...}`` JSON file (path) or its parsed dict.

    The layouts of ActivityNet, THUMOS14 and the ActionFormer/OpenTAD annotation files are read alike (fields
    other than ``subset``, ``annotations``, ``segment`` and ``label`` are ignored).

    Args:
        source: path to the JSON file, the parsed document or a JsonDocument.
        subset: keep only the videos whose ``subset`` is this, ignoring case (``"test"`` keeps ActionFormer's
            ``"Test"``); a subset that no video has is a ValueError listing the subsets. None keeps all.
        class_names: the class list ``label`` indexes; None takes the sorted labels found in the kept videos.
            Labels are class names, or integer ids into ``class_names`` (which must then be given). A label
            outside the list is a ValueError.

    Returns:
        ``Segments`` without scores; ``video_ids`` are the kept videos in file order.
    """
    name, document = read_json_document(source, "ground truth")
    database = json_field(document, "database", dict, name)
    wanted = None if subset is None else subset.casefold()
    video_ids, entries = [], []
    for video_id, entry in database.items():
        where = f"{name}: video {video_id!r}"
        entry = _video_entry(entry, where)
        if wanted is not None and json_field(entry, "subset", str, where).casefold() != wanted:
            continue
        video_ids.append(video_id)
        entries.append((where, json_field(entry, "annotations", list, where)))
    if wanted is not None and not video_ids:
        counts = {subset_name: len(ids) for subset_name, ids in subset_videos(JsonDocument(name, document)).items()}
        raise ValueError(_unknown_subset_message(name, subset, counts))
    columns = _columns(entries, "annotation", with_score=False)
    if class_names is None:
        if any(type(label) is not str for label in columns.labels):
            raise ValueError(f"{name}: integer label ids need the class list: pass class_names")
        class_names = sorted(set(columns.labels))
    return _build(video_ids, class_names, entries, columns, "annotation")


def load_predictions(source, video_ids: list[str], class_names: list[str]) -> Segments:
    """Predictions from an ActivityNet results ``{"results": ...}`` JSON file (path) or its parsed dict.

    Args:
        source: path to the JSON file, the parsed document or a JsonDocument.
        video_ids: the evaluated videos (usually the ground truth's). Predictions for other videos are
            kept, as the official evaluation counts them as false positives; their videos are appended
            to ``video_ids`` (in file order) and one warning gives their count.
        class_names: the class list; labels are class names or integer ids into it (as ActionFormer and
            OpenTAD write them). Another label is a ValueError.

    Returns:
        ``Segments`` with scores, rows in file order; ``video_ids`` starts with the given ones.
    """
    name, document = read_json_document(source, "predictions")
    results = json_field(document, "results", dict, name)
    all_video_ids = list(video_ids)
    video_index = {video_id: i for i, video_id in enumerate(all_video_ids)}
    entries, videos, unknown_video_rows = [], [], 0
    for video_id, predictions in results.items():
        where = f"{name}: video {video_id!r}"
        if not isinstance(predictions, list):
            raise ValueError(f"{where}: must be a list of predictions, got {type(predictions).__name__}")
        if video_id not in video_index:
            video_index[video_id] = len(all_video_ids)
            all_video_ids.append(video_id)
            unknown_video_rows += len(predictions)
        entries.append((where, predictions))
        videos.append(video_index[video_id])
    if unknown_video_rows:
        warnings.warn(f"{name}: {unknown_video_rows} prediction(s) on {len(all_video_ids) - len(video_ids)} "
                      f"video(s) outside video_ids; they count as false positives", stacklevel=2)
    return _build(all_video_ids, class_names, entries, _columns(entries, "prediction", with_score=True),
                  "prediction", videos)


def write_predictions(path: str | os.PathLike, predictions: Segments) -> None:
    """Write predictions in the ActivityNet results format (every video of ``video_ids``, rows in order).

    The file is replaced atomically: a reader sees the old file or the complete new one.
    """
    if predictions.score is None:
        raise ValueError("predictions must have scores (score is None)")
    results = {video_id: [] for video_id in predictions.video_ids}
    for video, start, end, label, score in zip(predictions.video.tolist(), predictions.start.tolist(),
                                               predictions.end.tolist(), predictions.label.tolist(),
                                               predictions.score.tolist()):
        results[predictions.video_ids[video]].append(
            {"segment": [start, end], "label": predictions.class_names[label], "score": score})
    write_json_atomic(path, {"version": "ptal", "external_data": {}, "results": results})


def _video_entry(entry, where: str) -> dict:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be an object with 'annotations', got {type(entry).__name__}")
    return entry


def _matching_subset(videos: dict[str, list[str]], subset: str) -> str | None:
    """The subset of ``videos`` named ``subset`` ignoring case, as spelled there; None if there is none."""
    return next((name for name in videos if name.casefold() == subset.casefold()), None)


def _unknown_subset_message(name: str, subset: str, video_counts: dict[str, int]) -> str:
    if not video_counts:
        return f"{name}: no subset {subset!r}: the file has no subsets (no video has a 'subset' field)"
    return f"{name}: no subset {subset!r}; the subsets are {_counts_text(video_counts)} (case is ignored)"


def _counts_text(video_counts: dict[str, int]) -> str:
    """The counts as "validation (200 videos), test (213)"."""
    texts = [f"{name} ({count})" for name, count in video_counts.items()]
    first, count = next(iter(video_counts.items()))
    texts[0] = f"{first} ({count} video{'s' if count != 1 else ''})"
    return ", ".join(texts)


@contextlib.contextmanager
def _no_garbage_collection():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def json_field(mapping: dict, key: str, kind: type | tuple[type, ...], where: str):
    """``mapping[key]``, checked to be there and a ``kind``; the errors name ``where``."""
    if key not in mapping:
        raise ValueError(f"{where}: missing field {key!r}")
    value = mapping[key]
    if not isinstance(value, kind):
        kinds = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"{where}: field {key!r} must be a {kinds}, got {type(value).__name__}")
    return value


class _Columns(NamedTuple):
    """The rows of a document as columns: segment bounds (K, 2), labels (K,) as found, scores (K,) or None,
    and the number of rows of each entry."""
    bounds: np.ndarray
    labels: list
    scores: np.ndarray | None
    counts: list[int]


_NUMBERS = {float, int}


def _columns(entries: list[tuple[str, list]], kind: str, with_score: bool) -> _Columns:
    """Columns of the rows of every (where, rows) entry, in one vectorised pass; on anything unusual (a
    missing field, a number given as a string, a NaN...) the rows are read one by one instead, which names
    the first bad row or reads the strings."""
    rows = [row for _, entry_rows in entries for row in entry_rows]
    counts = [len(entry_rows) for _, entry_rows in entries]
    try:
        segments = [row["segment"] for row in rows]
        labels = [row["label"] for row in rows]
        scores = [row["score"] for row in rows] if with_score else []
        flat_bounds = [bound for segment in segments for bound in segment]
        if ({type(segment) for segment in segments} <= {list} and len(flat_bounds) == 2 * len(rows)
                and set(map(type, flat_bounds)) <= _NUMBERS and set(map(type, scores)) <= _NUMBERS
                and set(map(type, labels)) <= {str, int}):
            bounds = np.array(flat_bounds, dtype=np.float64).reshape(-1, 2)
            score_array = np.array(scores, dtype=np.float64) if with_score else None
            if (np.isfinite(bounds).all() and (bounds[:, 1] >= bounds[:, 0]).all()
                    and (not with_score or np.isfinite(score_array).all())):
                return _Columns(bounds, labels, score_array, counts)
    except (KeyError, TypeError, OverflowError):  # OverflowError: an integer no float holds
        pass
    parsed = [_parse_row(row, f"{where}, {kind} {i}", with_score)
              for where, entry_rows in entries for i, row in enumerate(entry_rows)]
    return _Columns(np.array([row[:2] for row in parsed], dtype=np.float64).reshape(-1, 2),
                    [row[2] for row in parsed], np.array([row[3] for row in parsed]) if with_score else None, counts)


def _parse_row(entry, where: str, with_score: bool) -> tuple[float, float, object, float | None]:
    """(start, end, label, score) of one row, each checked."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be an object with 'segment' and 'label', got {type(entry).__name__}")
    segment = json_field(entry, "segment", list, where)
    if len(segment) != 2:
        raise ValueError(f"{where}: segment must be [start, end], got {segment!r}")
    start = json_number(segment[0], "segment start", where)
    end = json_number(segment[1], "segment end", where)
    if end < start:
        raise ValueError(f"{where}: segment end < start: {segment!r}")
    if "label" not in entry:
        raise ValueError(f"{where}: missing field 'label'")
    label = entry["label"]
    if not isinstance(label, (str, int)) or isinstance(label, bool):
        raise ValueError(f"{where}: field 'label' must be a class name or an integer id, got {label!r}")
    score = json_number(entry.get("score"), "score", where) if with_score else None
    return start, end, label, score


def json_number(value, what: str, where: str) -> float:
    """``value`` (a number, or a string of one) as a finite float; the errors name ``what`` and ``where``."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{where}: {what} must be a number, got {value!r}") from None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            number = math.inf
    else:
        raise ValueError(f"{where}: {what} must be a number, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"{where}: {what} must be finite, got {value!r}")
    return number


def _build(video_ids: list[str], class_names: list[str], entries: list[tuple[str, list]], columns: _Columns,
           kind: str, entry_videos: list[int] | None = None) -> Segments:
    """A Segments table; entry i's rows belong to video ``entry_videos[i]`` (default: video i)."""
    class_index = {class_name: i for i, class_name in enumerate(class_names)}
    class_index.update({i: i for i in range(len(class_names))})  # integer label ids
    try:
        label = np.array([class_index[value] for value in columns.labels], dtype=np.int64)
    except (KeyError, TypeError):
        for where, rows in entries:
            for i, row in enumerate(rows):
                if row["label"] not in class_index or isinstance(row["label"], bool):
                    raise ValueError(f"{where}, {kind} {i}: unknown label {row['label']!r} (not one of the "
                                     f"{len(class_names)} classes)") from None
        raise
    entry_videos = range(len(entries)) if entry_videos is None else entry_videos
    video = np.repeat(np.asarray(entry_videos, dtype=np.int64), columns.counts)
    return Segments(video_ids, class_names, video=video, start=columns.bounds[:, 0], end=columns.bounds[:, 1],
                    label=label, score=columns.scores)
