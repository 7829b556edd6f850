"""Every reader of ptal's inputs, for the malformed-input tests (test_malformed_inputs.py): how to make a valid
input, which of its files to corrupt and how (tests/reliability/corrupt.py), how to read it (a function or a
command line), and what a correct result is when the corrupted input is still accepted.

A new reader is one more :class:`Reader` in :data:`READERS`, e.g.::

    Reader("my layout", examples=60, files=lambda base: {"x.csv": (base / "x.csv").read_bytes()},
           corruptions={"x.csv": corrupted_csv}, read=lambda folder, out: read_my_layout(folder / "x.csv"),
           check=lambda folder, result: ...)
"""
from __future__ import annotations

import csv
import io
import json
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import yaml
from hypothesis import strategies as st

from ptal.data import (LacpFeatures, NpyFeatures, load_ground_truth, load_point_labels, load_thumos14, read_fps,
                       read_split)
from ptal.data.activitynet import load_predictions, subset_videos
from ptal.data.annotations import THUMOS14_CLASSES
from ptal.data.datasets import dataset_spec
from ptal.data.points import frame_to_snippet
from ptal.data.sfnet import feature_file
from ptal.eval import detection_map
from ptal.models import method_config
from ptal.train import config_to_dict, load_checkpoint
from tests.data.test_activitynet_protocol import plain_rescale
from tests.reliability.corrupt import (PATH_LIKE, corrupted_bytes, corrupted_csv, corrupted_document,
                                       corrupted_entries_npy, corrupted_json, corrupted_lines, corrupted_npy,
                                       corrupted_yaml, dumps, node_paths, object_array, odd_scalars, plain, replaced)

CLASSES = list(THUMOS14_CLASSES)


@dataclass(frozen=True)
class Reader:
    """One reader under test.

    Attributes:
        name: what it reads, for test ids.
        examples: corrupted inputs per run of the suite.
        files: base folder (the mini THUMOS14 files and a trained run, see test_malformed_inputs.py) -> the
            valid input, ``{relative path: bytes}``.
        corruptions: the files that may be corrupted -> a strategy of ``(how, bytes)`` from their valid bytes.
        read: (input folder, output folder) -> result; a command line returns ``ptal.cli.main``'s status.
        check: (input folder, result) -> None, asserting that an accepted input gave the correct result.
        command: True when ``read`` runs the command line (its errors are exit status 2 and one line).
        names: input folder -> what an error may name instead of the corrupted file (e.g. an override).
    """

    name: str
    examples: int
    files: Callable[[Path], dict[str, bytes]]
    corruptions: dict[str, Callable]
    read: Callable[[Path, Path], object]
    check: Callable[[Path, object], None] = lambda folder, result: None
    command: bool = False
    names: Callable[[Path], list[str]] | None = None  # what an error may name instead of the corrupted file


def _copy(*names: str) -> Callable[[Path], dict[str, bytes]]:
    return lambda base: {name: (base / name).read_bytes() for name in names}


# ---- what a reader should return for an input it accepts (plain re-readings of the formats) ----------------
def _number(value) -> float:
    return float(value)


def expected_segments(document: dict, top: str, with_score: bool, class_names: list[str] | None, subset=None):
    """(video, start, end, label, score) rows of a ground-truth or results document, read plainly."""
    rows = []
    for video_id, entry in document[top].items():
        if subset is not None and entry["subset"].casefold() != subset:
            continue
        for row in (entry["annotations"] if top == "database" else entry):
            label = row["label"]
            index = label if isinstance(label, int) else class_names.index(label)
            rows.append((video_id, _number(row["segment"][0]), _number(row["segment"][1]), index,
                         _number(row["score"]) if with_score else None))
    return rows


def table_rows(segments) -> list[tuple]:
    return [(segments.video_ids[v], s, e, int(c), None if segments.score is None else p)
            for v, s, e, c, p in zip(segments.video, segments.start, segments.end, segments.label,
                                     segments.score if segments.score is not None else [None] * len(segments))]


def _json(path: Path):
    return json.loads(path.read_text())


def check_ground_truth(folder: Path, result) -> None:
    segments, subsets = result
    document = _json(folder / "gt.json")
    class_names = segments.class_names
    assert table_rows(segments) == expected_segments(document, "database", False, class_names)
    assert segments.video_ids == list(document["database"])
    if subsets:
        assert sorted(v for ids in subsets.values() for v in ids) == sorted(document["database"])


def check_predictions(folder: Path, result) -> None:
    segments, video_ids = result
    document = _json(folder / "predictions.json")
    assert table_rows(segments) == expected_segments(document, "results", True, CLASSES)
    assert segments.video_ids[:len(video_ids)] == video_ids


def read_predictions(folder: Path, out: Path):
    truth = load_ground_truth(folder / "gt.json", class_names=CLASSES)
    segments = load_predictions(folder / "predictions.json", truth.video_ids, CLASSES)
    detection_map(truth, segments)  # the evaluation takes whatever the reader accepted
    return segments, truth.video_ids


def check_points(folder: Path, points) -> None:
    fps = _json(folder / "fps_dict.json")
    rows = list(csv.DictReader(io.StringIO((folder / "point_labels.csv").read_text(encoding="utf-8-sig"))))
    assert len(points) == len(rows)
    for k, row in enumerate(rows):
        assert points.video_ids[points.video[k]] == row["video_id"].strip()
        assert points.class_names[points.label[k]] == row["class"].strip() and points.frame[k] == int(row["point"])
        assert points.snippet[k] == frame_to_snippet(int(row["point"]), fps[row["video_id"].strip()])


def check_split(folder: Path, video_ids) -> None:
    lines = [line.strip() for line in (folder / "split_test.txt").read_text(encoding="utf-8-sig").splitlines()]
    assert video_ids == [line for line in lines if line] and len(set(video_ids)) == len(video_ids)


def check_fps(folder: Path, fps) -> None:
    document = _json(folder / "fps_dict.json")
    assert fps == {video_id: float(rate) for video_id, rate in document.items()}
    assert all(math.isfinite(rate) and rate > 0 for rate in fps.values())


FEATURE_DIM = 6


def read_features(source, video_id: str, dim: int) -> np.ndarray:
    length = source.length(video_id)
    rows = source.load(video_id)
    assert rows.shape == (length, dim) and rows.dtype == np.float32
    return rows


def check_npy_features(folder: Path, rows) -> None:
    expected = np.load(folder / "features" / "video_a.npy").astype(np.float32)
    assert np.array_equal(rows, expected) and np.isfinite(rows).all()


def check_lacp_features(folder: Path, rows) -> None:
    streams = [np.load(folder / "features" / "train" / stream / "video_a.npy") for stream in ("rgb", "flow")]
    assert np.array_equal(rows, np.concatenate(streams, axis=1).astype(np.float32)) and np.isfinite(rows).all()


def feature_files(layout: str) -> Callable[[Path], dict[str, bytes]]:
    def files(base: Path) -> dict[str, bytes]:
        rng = np.random.default_rng(0)
        if layout == "npy":
            return {"features/video_a.npy": _npy(rng.random((7, FEATURE_DIM), dtype=np.float32))}
        return {f"features/train/{stream}/video_a.npy": _npy(rng.random((7, FEATURE_DIM // 2), dtype=np.float32))
                for stream in ("rgb", "flow")}
    return files


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


# ---- checkpoints: the dict inside, corrupted, and saved again --------------------------------------------
@st.composite
def corrupted_checkpoint(draw, content: bytes):
    """A checkpoint whose content is changed (a key removed or added, a value of another type, a tensor of
    another shape or dtype, or NaN) and saved again, or whose bytes are corrupted."""
    if draw(st.integers(0, 3)) == 0:
        return draw(corrupted_bytes(content))
    checkpoint = torch.load(io.BytesIO(content), weights_only=True)
    tensors = [(path, value) for path, value in node_paths(checkpoint) if isinstance(value, torch.Tensor)]
    if tensors and draw(st.booleans()):
        path, tensor = draw(st.sampled_from(tensors))
        kind = draw(st.sampled_from(("nan", "inf", "shape", "dtype", "empty")))
        changed = {"nan": lambda t: torch.full_like(t, math.nan) if t.is_floating_point() else t.float() * math.nan,
                   "inf": lambda t: torch.full_like(t, math.inf) if t.is_floating_point() else t.float() * math.inf,
                   "shape": lambda t: torch.zeros(*(size + 1 for size in t.shape), 2),
                   "dtype": lambda t: t.to(torch.int8 if t.is_floating_point() else torch.float64),
                   "empty": lambda t: torch.zeros(0)}[kind](tensor)
        how, checkpoint = f"{'/'.join(map(str, path))}: {kind}", replaced(checkpoint, path, changed)
    else:
        # data.cache names a folder the run writes the twin's features to, by design: any path is legitimate there
        # (a blank one is an error: tests/data/test_activitynet_protocol.py, test_a_blank_cache_is_an_error).
        how, checkpoint = draw(corrupted_document(checkpoint, kept={("config", "data", "cache")}))
    out = io.BytesIO()
    torch.save(plain(checkpoint), out)
    return how, out.getvalue()


def check_checkpoint(folder: Path, checkpoint) -> None:
    assert isinstance(checkpoint["iteration"], int) and isinstance(checkpoint["model"], dict)


# ---- configs and overrides ---------------------------------------------------------------------------
def config_document(family: str) -> dict:
    return config_to_dict(method_config(None, [f"model.name={family}"]))


def check_config(folder: Path, status) -> None:
    assert status == 0


@st.composite
def corrupted_overrides(draw, content: bytes):
    """The overrides of ``content`` (one a line) with one replaced by a drawn ``key=value`` argument: a known
    key (or a mangled one) and an awkward value."""
    lines = content.decode().splitlines()
    index = draw(st.integers(0, len(lines) - 1))
    lines[index] = draw(override_argument())
    return f"override {lines[index]!r:.60}", "\n".join(lines).encode()


@st.composite
def override_argument(draw):
    defaults = config_document("lacp")
    keys = [".".join(map(str, path)) for path, value in _leaf_paths(defaults)]
    key = draw(st.one_of(st.sampled_from(keys), st.sampled_from(["train", "data", "train.", ".lr", "model.name", "data",
                                                                  "x.y.z", "train..lr", ""])))
    value = draw(st.one_of(st.sampled_from(["nan", ".nan", "inf", "-.inf", "1e999", "-1", "0", "[1, 2]", "{a: 1}",
                                            "[", "'", "null", "true", "", "9" * 400, *PATH_LIKE]),
                           odd_scalars().map(lambda value: dumps(value) if not isinstance(value, str) else value)))
    separator = draw(st.sampled_from(["=", "=", "=", "", "==", " = "]))
    return f"{key}{separator}{value}"


def _leaf_paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaf_paths(value, (*prefix, key))
    else:
        yield prefix, node


def override_names(folder: Path) -> list[str]:
    """An error about an override names it, or its key."""
    lines = (folder / "overrides.txt").read_text().splitlines()
    return [*lines, *(repr(line) for line in lines), *(line.partition("=")[0].strip() for line in lines)]


# ---- the readers ---------------------------------------------------------------------------------------
def actionformer_ground_truth(base: Path) -> bytes:
    """The mini ground truth in ActionFormer's layout: float segments, frames, label ids, durations."""
    database = _json(base / "gt.json")["database"]
    fps = _json(base / "fps_dict.json")
    converted = {}
    for video_id, entry in database.items():
        rate = fps[video_id]
        annotations = [{"label": row["label"], "segment": [float(row["segment"][0]), float(row["segment"][1])],
                        "segment(frames)": [float(row["segment"][0]) * rate, float(row["segment"][1]) * rate],
                        "label_id": CLASSES.index(row["label"])} for row in entry["annotations"]]
        converted[video_id] = {"subset": "Validation" if entry["subset"] == "train" else "Test",
                               "duration": 100.0, "fps": rate, "annotations": annotations}
    return json.dumps({"version": "Thumos14-30fps", "database": converted}).encode()


def activitynet_predictions(base: Path, integer_labels: bool) -> bytes:
    """Predictions on the mini test videos: each ground-truth instance, shifted a little, and a false one."""
    database = _json(base / "gt.json")["database"]
    results = {}
    for video_id, entry in database.items():
        if entry["subset"] != "test":
            continue
        rows = [{"label": CLASSES.index(row["label"]) if integer_labels else row["label"],
                 "score": 0.9 - 0.1 * k, "segment": [float(row["segment"][0]) + 0.5, float(row["segment"][1])]}
                for k, row in enumerate(entry["annotations"])]
        false = entry["annotations"][0]["label"]  # a class of the test videos: eval drops the others
        rows.append({"label": CLASSES.index(false) if integer_labels else false, "score": 0.05, "segment": [0.0, 1.0]})
        results[video_id] = rows
    return json.dumps({"version": "ptal", "external_data": {}, "results": results}).encode()


def actionformer_predictions(base: Path) -> bytes:
    """The predictions in ActionFormer's own file layout: ``{"database": {video: [{segment, label_id, scores}]}}``."""
    results = json.loads(activitynet_predictions(base, True))["results"]
    return json.dumps({"database": {video: [{"segment": row["segment"], "label_id": row["label"], "scores": row["score"]}
                                            for row in rows] for video, rows in results.items()}}).encode()


def compat_files(base: Path) -> dict[str, bytes]:
    return {"gt.json": actionformer_ground_truth(base), "predictions.json": actionformer_predictions(base),
            "activitynet_predictions.json": activitynet_predictions(base, False), "blocked.json": b'["video_x"]'}


def check_compat_map(folder: Path, result) -> None:
    """The mAPs of an accepted input: one per threshold, in [0, 1], their mean the average."""
    maps, average = result
    assert len(maps) == len(COMPAT_TIOUS) and all(0 <= value <= 1 for value in maps)
    assert math.isclose(average, float(np.mean(maps)), abs_tol=1e-12)


def read_actionformer_map(folder: Path, out: Path):
    from ptal.compat.actionformer import ANETdetection

    maps, average, _ = ANETdetection(str(folder / "gt.json"), "test", tiou_thresholds=COMPAT_TIOUS).evaluate(
        str(folder / "predictions.json"), verbose=False)
    return list(maps), average


def read_opentad_map(folder: Path, out: Path):
    from ptal.compat.opentad import mAP

    metrics = mAP(str(folder / "gt.json"), str(folder / "activitynet_predictions.json"), "Test", COMPAT_TIOUS,
                  top_k=[1, 5], blocked_videos=str(folder / "blocked.json")).evaluate()
    return [metrics[f"mAP@{tiou}"] for tiou in COMPAT_TIOUS], metrics["average_mAP"]


COMPAT_TIOUS = (0.3, 0.5, 0.7)
THUMOS14_FILES = ("gt.json", "fps_dict.json", "split_train.txt", "split_test.txt", "point_labels.csv")


def check_synth(folder: Path, status) -> None:
    assert status == 0


def _main(arguments: list[str]) -> int:
    from ptal.cli import main

    return main(arguments)


def _cli(*arguments) -> Callable[[Path, Path], int]:
    """A command line; ``{in}`` and ``{out}`` in the arguments are the input and output folders."""
    return lambda folder, out: _main([argument.format(**{"in": folder, "out": out}) for argument in arguments])



# ---- SF-Net's / W-TALC's arrays and ActivityNet's JSON: the trainer's data (ptal.models.common.load_dataset) ----
SFNET_VIDEOS = {  # dataset -> [(video, subset, [(start, end, class index)], duration, snippets)]
    "gtea": [("S1_a", "training", [(0.5, 2.0, 4), (2.0, 3.2, 1)], 9.6, 9), ("S1_b", "training", [(1.0, 4.0, 5)], 8.0, 8),
             ("S2_a", "validation", [(0.0, 1.1, 4)], 5.4, 5), ("S2_b", "validation", [], 3.0, 3)],
    "activitynet12": [("v1", "training", [(10.0, 50.0, 0), (70.5, 118.0, 0)], 120.0, 7),
                      ("v2", "training", [(0.0, 31.2, 2)], 31.2, 5), ("v3", "validation", [(5.0, 20.0, 1)], 64.0, 6),
                      ("v4", "testing", [], 50.0, 4)],
}
SINGLE_FRAMES = {"GTEA1.txt": "S1_a,1.0,take\nS1_a,2.5,open\nS1_b,2.0,pour\nS2_a,0.5,take\n",
                 "GTEA2.txt": "S1_a,1.5,take\nS1_b,3.0,pour\nS1_b,7.0,stir\n"}


THUMOS14_SFNET = ("video_validation_0000854", "video_validation_0000689", "video_test_0000873")  # short ones


def thumos14_videos() -> list[tuple]:
    """A few THUMOS14 videos as SF-Net's arrays hold them (subset "validation" for the training split), with the
    packaged ground truth, and enough snippets for the packaged points (THUMOS14's default points)."""
    truth = load_thumos14().ground_truth
    videos = []
    for video in THUMOS14_SFNET:
        rows = truth.of_video(video)
        snippets = math.ceil(rows.end.max() / 0.64) + 2
        videos.append((video, "validation" if "validation" in video else "test",
                       list(zip(rows.start.tolist(), rows.end.tolist(), rows.label.tolist())), snippets * 0.64, snippets))
    return videos


def sfnet_files(dataset: str) -> Callable[[Path], dict[str, bytes]]:
    """A folder in SF-Net's (W-TALC's) layout of a few videos of ``dataset``: the feature file, the annotation
    arrays and (GTEA) two annotators' single frames."""
    def files(base: Path) -> dict[str, bytes]:
        spec = dataset_spec(dataset)
        videos = thumos14_videos() if dataset == "thumos14" else SFNET_VIDEOS[dataset]
        rng = np.random.default_rng(0)
        folder = f"{spec.sfnet_name}-Annotations"
        arrays = {"videoname": np.array([v[0] for v in videos], dtype="S"), "subset": np.array([v[1] for v in videos], dtype="S"),
                  "segments": object_array([[[s, e] for s, e, _ in v[2]] for v in videos]),
                  "labels": object_array([[spec.class_names[c] for *_, c in v[2]] for v in videos]),
                  "duration": np.array([v[3] for v in videos]), "classlist": np.array(spec.class_names, dtype="S")}
        found = {f"{folder}/{name}.npy": _npy(array) for name, array in arrays.items()}
        found[f"{spec.sfnet_name}-I3D-JOINTFeatures.npy"] = _npy(object_array(
            [rng.random((v[4], FEATURE_DIM), dtype=np.float32) for v in videos]))
        if dataset == "gtea":
            found.update({f"{folder}/single_frames/{name}": text.encode() for name, text in SINGLE_FRAMES.items()})
        return found
    return files


ANET_VIDEOS = [("abcdefghijk", "training", 120.0, [(10.0, 50.0, "Archery"), (70.5, 118.0, "Archery")], 7),
               ("-0123456789", "training", 31.2, [(0.0, 31.2, "Zumba")], 5),
               ("zyxwvutsrqp", "validation", 64.0, [(5.0, 20.0, "Ballet")], 6), ("testvideo01", "testing", 50.0, [], 0)]


def activitynet_files(base: Path) -> dict[str, bytes]:
    """ActivityNet 1.3's annotation file (as activity_net.v1-3.min.json: durations, no frame rates) of a few
    videos, and one ``v_<id>.npy`` per training and validation video."""
    database = {video: {"subset": subset, "duration": duration, "url": f"https://www.youtube.com/watch?v={video}",
                        "annotations": [{"segment": [s, e], "label": label} for s, e, label in rows]}
                for video, subset, duration, rows, _ in ANET_VIDEOS}
    rng = np.random.default_rng(0)
    features = {f"features/v_{video}.npy": _npy(rng.random((snippets, FEATURE_DIM), dtype=np.float32))
                for video, *_, snippets in ANET_VIDEOS if snippets}
    return {"anet.json": json.dumps({"version": "VERSION 1.3", "taxonomy": [], "database": database}).encode(),
            **features}


def read_dataset(dataset: str, *overrides: str) -> Callable[[Path, Path], object]:
    """What the trainer reads: ``load_dataset`` of ``data.dataset=dataset`` with ``data.source`` the input folder
    (``{in}`` in an override is the input folder)."""
    def read(folder: Path, out: Path):
        from ptal.models.common import load_dataset

        settings = [f"data.dataset={dataset}", f"data.source={folder}", "data.points_seed=3",
                    *(override.format(**{"in": folder}) for override in overrides)]
        return load_dataset(method_config(None, settings).data)
    return read


class _DataOnly(pickle.Unpickler):
    def find_class(self, module, name):
        assert module.split(".")[0] in ("numpy", "_codecs"), f"an accepted object array unpickles {module}.{name}"
        return super().find_class(module, name)


def plain_npy(path: Path) -> np.ndarray:
    """An ``.npy`` file read plainly (object arrays unpickled, asserting that they refer to NumPy alone)."""
    with path.open("rb") as file:
        version = np.lib.format.read_magic(file)
        _, _, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(file)
        if dtype.hasobject:
            return _DataOnly(file, encoding="latin1").load()
    return np.load(path)


def _name(value) -> str:
    assert isinstance(value, (str, bytes)), value
    return value.decode() if isinstance(value, bytes) else value


def _seconds(value) -> float:
    assert isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_)), value
    assert 0 <= float(value) <= 86_400, value  # ptal's bounds of a video's seconds
    return float(value)


class PlainDataset(NamedTuple):
    """A dataset folder read plainly: split -> videos, durations, ground-truth rows (video, start, end, class,
    None) and each video's raw features."""
    splits: dict
    durations: dict
    rows: list
    features: dict


def plain_sfnet(folder: Path, dataset: str) -> PlainDataset:
    spec = dataset_spec(dataset)
    annotations = folder / f"{spec.sfnet_name}-Annotations"
    names, subsets, segments, labels, durations = (plain_npy(annotations / f"{name}.npy") for name in (
        "videoname", "subset", "segments", "labels", "duration"))
    names, subsets = [_name(name) for name in names], [_name(subset) for subset in subsets]
    assert len(set(names)) == len(names) and all(name not in ("", ".", "..") and "/" not in name for name in names)
    splits, kept, rows = {split: [] for split in spec.splits}, {}, []
    for i, (video, subset) in enumerate(zip(names, subsets, strict=True)):
        split = spec.split_of_subset(subset)
        assert len(segments[i]) == len(labels[i])
        if split is None or not len(segments[i]):
            continue
        splits[split].append(video)
        duration = np.asarray(durations[i]).reshape(-1)
        assert duration.size == 1 and _seconds(duration[0]) > 0
        kept[video] = float(duration[0])
        for (start, end), label in zip(segments[i], labels[i], strict=True):
            assert _seconds(start) <= _seconds(end)
            rows.append((video, float(start), float(end), spec.class_names.index(label), None))
    features = plain_npy(feature_file(folder, spec.sfnet_name))
    assert features.shape == (len(names),)
    return PlainDataset(splits, kept, rows, dict(zip(names, features)))


def plain_activitynet(folder: Path, dataset: str) -> PlainDataset:
    spec = dataset_spec(dataset)
    database = _json(folder / "anet.json")["database"]
    splits = {split: [video for video, entry in database.items() if spec.split_of_subset(entry["subset"]) == split]
              for split in spec.splits}
    durations = {video: _seconds(entry["duration"]) for video, entry in database.items() if "duration" in entry}
    rows = expected_segments(_json(folder / "anet.json"), "database", False, list(spec.class_names))
    assert all(0 <= start <= end <= 86_400 for _, start, end, _, _ in rows)
    features = {video: np.load(folder / "features" / f"v_{video}.npy")
                for videos in splits.values() for video in videos}
    return PlainDataset(splits, durations, rows, features)


def check_dataset(plain: Callable[[Path, str], PlainDataset], dataset: str) -> Callable[[Path, object], None]:
    """An accepted dataset folder gave the splits, durations, ground truth and features of a plain reading, and
    every training point lies in an instance of its class."""
    def check(folder: Path, result) -> None:
        annotations, train, evaluated = result
        spec = dataset_spec(dataset)
        expected = plain(folder, dataset)
        assert annotations.splits == expected.splits
        assert table_rows(annotations.ground_truth) == expected.rows
        assert {video: annotations.durations[video] for video in expected.durations} == expected.durations
        assert [item.video_id for item in train] == expected.splits[spec.train_split]
        assert [item.video_id for item in evaluated] == expected.splits[spec.eval_split]
        for item in train + evaluated:
            raw = np.asarray(expected.features[item.video_id])
            assert raw.ndim == 2 and np.issubdtype(raw.dtype, np.floating) and np.isfinite(raw).all()
            wanted = plain_rescale(raw, spec.fixed_length) if spec.fixed_length else raw
            np.testing.assert_allclose(item.features.numpy(), wanted, rtol=1e-5, atol=1e-6)
            rows = [row for row in expected.rows if row[0] == item.video_id]
            assert sorted(item.segment_labels.tolist()) == sorted(row[3] for row in rows)
        last = spec.fixed_length - 1 if spec.fixed_length else math.inf  # rescaled: a point past the end is in the last
        for item in train:
            step = item.seconds_per_snippet
            rows = [row for row in expected.rows if row[0] == item.video_id]
            for snippet, label in item.point_labels.nonzero().tolist():
                assert any(c == label and min(s / step, last) - 1 <= snippet <= e / step for _, s, e, c, _ in rows), \
                    item.video_id
    return check


def sfnet_corruptions(dataset: str) -> dict[str, Callable]:
    """Every file of ``sfnet_files(dataset)``, corrupted (classlist.npy is not read: ptal knows the classes)."""
    spec = dataset_spec(dataset)
    folder = f"{spec.sfnet_name}-Annotations"
    corruptions = {f"{folder}/{name}.npy": corrupted_entries_npy for name in ("videoname", "subset", "segments", "labels", "duration")}
    corruptions[f"{spec.sfnet_name}-I3D-JOINTFeatures.npy"] = corrupted_entries_npy
    if dataset == "gtea":
        corruptions.update({f"{folder}/single_frames/{name}": lambda c: corrupted_csv(c.decode())
                            for name in SINGLE_FRAMES})
    return {name: removable(strategy) for name, strategy in corruptions.items()}


def gtea_json_files(base: Path) -> dict[str, bytes]:
    """An annotation folder as ptal packages GTEA's and BEOID's (SF-Net's gt.json: subsets, frame rates and
    durations per video) with an annotator's single frames."""
    spec = dataset_spec("gtea")
    database = {video: {"duration": duration, "subset": subset, "num_frames": round(duration * 15), "fps": 15,
                        "annotations": [{"segment": [s, e], "label": spec.class_names[c]} for s, e, c in rows]}
                for video, subset, rows, duration, _ in SFNET_VIDEOS["gtea"]}
    return {"gt.json": json.dumps({"version": "GTEA", "database": database}).encode(),
            "single_frames/GTEA1.txt": SINGLE_FRAMES["GTEA1.txt"].encode()}


def removable(corruption: Callable) -> Callable:
    """``corruption``, or now and then the file removed (content None)."""
    return lambda content: st.one_of(corruption(content), corruption(content), corruption(content),
                                     st.just(("removed", None)))

READERS = [
    Reader("ground truth, ActivityNet/THUMOS14 layout", 150, _copy("gt.json"), {"gt.json": corrupted_json},
           lambda folder, out: (load_ground_truth(folder / "gt.json", class_names=CLASSES), subset_videos(folder / "gt.json")),
           check_ground_truth),
    Reader("ground truth, ActionFormer layout", 100, lambda base: {"gt.json": actionformer_ground_truth(base)},
           {"gt.json": corrupted_json},
           lambda folder, out: (load_ground_truth(folder / "gt.json", subset="test"), subset_videos(folder / "gt.json")),
           lambda folder, result: None),
    Reader("predictions, ActivityNet layout", 150,
           lambda base: {"gt.json": (base / "gt.json").read_bytes(), "predictions.json": activitynet_predictions(base, False)},
           {"predictions.json": corrupted_json}, read_predictions, check_predictions),
    Reader("predictions, ActionFormer layout (label ids)", 100,
           lambda base: {"gt.json": (base / "gt.json").read_bytes(), "predictions.json": activitynet_predictions(base, True)},
           {"predictions.json": corrupted_json}, read_predictions, check_predictions),
    Reader("ptal eval --gt --pred --out", 100,
           lambda base: {"gt.json": (base / "gt.json").read_bytes(), "predictions.json": activitynet_predictions(base, False)},
           {"gt.json": corrupted_json, "predictions.json": corrupted_json},
           _cli("eval", "--gt", "{in}/gt.json", "--pred", "{in}/predictions.json", "--out", "{out}/result.json"),
           lambda folder, status: None, command=True),
    Reader("ActionFormer's ANETdetection (ptal.compat)", 80, compat_files,
           {"gt.json": corrupted_json, "predictions.json": corrupted_json}, read_actionformer_map, check_compat_map),
    Reader("OpenTAD's mAP (ptal.compat)", 80, compat_files,
           {"gt.json": corrupted_json, "activitynet_predictions.json": corrupted_json, "blocked.json": corrupted_json},
           read_opentad_map, check_compat_map),
    Reader("point labels CSV", 120, _copy("point_labels.csv", "fps_dict.json"), {"point_labels.csv": lambda c: corrupted_csv(c.decode())},
           lambda folder, out: load_point_labels(folder / "point_labels.csv", read_fps(folder / "fps_dict.json")),
           check_points),
    Reader("split file", 60, _copy("split_test.txt"), {"split_test.txt": lambda c: corrupted_lines(c.decode())},
           lambda folder, out: read_split(folder / "split_test.txt"), check_split),
    Reader("fps file", 60, _copy("fps_dict.json"), {"fps_dict.json": corrupted_json},
           lambda folder, out: read_fps(folder / "fps_dict.json"), check_fps),
    Reader("THUMOS14 folder: ptal data synth --annotations", 60, _copy(*THUMOS14_FILES),
           {"gt.json": corrupted_json, "fps_dict.json": corrupted_json,
            "split_train.txt": lambda c: corrupted_lines(c.decode()), "split_test.txt": lambda c: corrupted_lines(c.decode()),
            "point_labels.csv": lambda c: corrupted_csv(c.decode())},
           _cli("data", "synth", "--annotations", "{in}", "--d", "2", "--out", "{out}/synth"), check_synth, command=True),
    Reader("SF-Net's layout, GTEA (data.source=DIR, data.points=random-annotator)", 150, sfnet_files("gtea"),
           sfnet_corruptions("gtea"), read_dataset("gtea", "data.points=random-annotator"),
           check_dataset(plain_sfnet, "gtea"), names=lambda folder: ["GTEA-Annotations"]),
    Reader("SF-Net's layout, THUMOS14 (data.source=DIR, the packaged points)", 60, sfnet_files("thumos14"),
           sfnet_corruptions("thumos14"), read_dataset("thumos14"), check_dataset(plain_sfnet, "thumos14"),
           names=lambda folder: ["Thumos14-Annotations"]),
    Reader("W-TALC's ActivityNet 1.2 arrays (data.source=DIR, rescaled to 100)", 100, sfnet_files("activitynet12"),
           sfnet_corruptions("activitynet12"), read_dataset("activitynet12"), check_dataset(plain_sfnet, "activitynet12"),
           names=lambda folder: ["ActivityNet1.2-Annotations"]),  # "the annotations at DIR list no training videos"
    Reader("ActivityNet 1.3 JSON and v_<id>.npy per video (data.annotations=JSON)", 100, activitynet_files,
           {"anet.json": removable(corrupted_json),
            **{f"features/v_{video}.npy": removable(lambda c: corrupted_npy(np.load(io.BytesIO(c))))
               for video, *_, snippets in ANET_VIDEOS if snippets}},
           read_dataset("activitynet13", "data.source={in}/features", "data.annotations={in}/anet.json"),
           check_dataset(plain_activitynet, "activitynet13")),
    Reader("GTEA/BEOID gt.json with single frames: ptal data points --protocol annotator", 60, gtea_json_files,
           {"gt.json": removable(corrupted_json), "single_frames/GTEA1.txt": lambda c: corrupted_csv(c.decode())},
           _cli("data", "points", "--dataset", "gtea", "--annotations", "{in}", "--protocol", "annotator",
                "--annotator", "1", "--out", "{out}/points.csv"), check_synth, command=True),
    Reader("features, one .npy per video (ActionFormer layout)", 80, feature_files("npy"),
           {"features/video_a.npy": lambda c: corrupted_npy(np.load(io.BytesIO(c)))},
           lambda folder, out: read_features(NpyFeatures(folder / "features", FEATURE_DIM), "video_a", FEATURE_DIM),
           check_npy_features),
    Reader("features, RGB and flow .npy (LACP layout)", 80, feature_files("lacp"),
           {f"features/train/{s}/video_a.npy": (lambda c: corrupted_npy(np.load(io.BytesIO(c)))) for s in ("rgb", "flow")},
           lambda folder, out: read_features(LacpFeatures(folder, "train", FEATURE_DIM), "video_a", FEATURE_DIM),
           check_lacp_features),
    Reader("checkpoint", 60, lambda base: {"last.pt": (base / "run" / "last.pt").read_bytes()},
           {"last.pt": corrupted_checkpoint}, lambda folder, out: load_checkpoint(folder / "last.pt"), check_checkpoint),
    Reader("ptal infer --checkpoint", 25, lambda base: {"last.pt": (base / "run" / "last.pt").read_bytes()},
           {"last.pt": corrupted_checkpoint},
           _cli("infer", "--checkpoint", "{in}/last.pt", "--out", "{out}/predictions.json"),
           lambda folder, status: None, command=True),
    Reader("ptal train --resume", 25, lambda base: {"last.pt": (base / "run" / "last.pt").read_bytes()},
           {"last.pt": corrupted_checkpoint},
           _cli("train", "--resume", "{in}/last.pt", "train.iterations=3", "train.out_dir={out}/run"),
           lambda folder, status: None, command=True),
    Reader("config file: ptal train --config --print-config", 80,
           lambda base: {"config.yaml": yaml.safe_dump(config_document("apn"), sort_keys=False).encode()},
           {"config.yaml": corrupted_yaml},
           _cli("train", "--config", "{in}/config.yaml", "--print-config"), check_config, command=True),
    Reader("key=value overrides: ptal train --print-config", 100,
           lambda base: {"overrides.txt": b"model.name=apn\ntrain.lr=3e-4\ndata.feature_dim=64\ntrain.betas=[0.9,0.99]"},
           {"overrides.txt": corrupted_overrides},
           lambda folder, out: _main(["train", "--print-config", *(folder / "overrides.txt").read_text().splitlines()]),
           check_config, command=True, names=override_names),
]
