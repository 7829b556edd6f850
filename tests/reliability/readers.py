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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from hypothesis import strategies as st

from ptal.data import LacpFeatures, NpyFeatures, load_ground_truth, load_point_labels, read_fps, read_split
from ptal.data.activitynet import load_predictions, subset_videos
from ptal.data.annotations import THUMOS14_CLASSES
from ptal.data.points import frame_to_snippet
from ptal.eval import detection_map
from ptal.models import method_config
from ptal.train import config_to_dict, load_checkpoint
from tests.reliability.corrupt import (PATH_LIKE, corrupted_bytes, corrupted_csv, corrupted_document, corrupted_json,
                                       corrupted_lines, corrupted_npy, corrupted_yaml, dumps, node_paths, odd_scalars,
                                       plain, replaced)

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
        how, checkpoint = draw(corrupted_document(checkpoint))
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
