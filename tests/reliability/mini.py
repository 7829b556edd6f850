"""A THUMOS14-format annotation folder of a few short videos, cut from the packaged files: a run of either
model on it (with the tiny networks of tests/tiny.py) takes a fraction of a second an iteration, so tests
can start, kill and resume many real runs."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ptal.data.annotations import load_thumos14, thumos14_files
from tests.tiny import TINY_APN, TINY_LACP


def write_mini_thumos14(directory: str | Path, train: int = 6, test: int = 4) -> Path:
    """Write gt.json, fps_dict.json, split_{train,test}.txt and point_labels.csv of the ``train`` and
    ``test`` shortest annotated videos of the packaged THUMOS14 splits to ``directory``; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    packaged = load_thumos14()
    truth = packaged.ground_truth
    last_end = {video_id: float(truth.end[truth.video == index].max())
                for index, video_id in enumerate(truth.video_ids) if (truth.video == index).any()}
    splits = {split: sorted((v for v in packaged.splits[split] if v in last_end), key=last_end.get)[:count]
              for split, count in (("train", train), ("test", test))}
    kept = {v for videos in splits.values() for v in videos}
    files = thumos14_files()
    database = json.loads(files["gt"].read_text())["database"]
    (directory / "gt.json").write_text(json.dumps({"database": {v: database[v] for v in database if v in kept}}))
    fps = json.loads(files["fps"].read_text())
    (directory / "fps_dict.json").write_text(json.dumps({v: fps[v] for v in fps if v in kept}))
    for split, videos in splits.items():
        (directory / f"split_{split}.txt").write_text("".join(f"{v}\n" for v in videos))
    reader = csv.DictReader(io.StringIO(files["points"].read_text()))
    out = io.StringIO()
    writer = csv.DictWriter(out, reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row for row in reader if row["video_id"] in splits["train"])
    (directory / "point_labels.csv").write_text(out.getvalue())
    return directory


def mini_overrides(family: str, annotations: str | Path) -> list[str]:
    """``ptal train`` overrides of a tiny ``family`` model on the mini annotations (no train.* keys)."""
    tiny = TINY_LACP if family == "lacp" else ["model.name=apn", *TINY_APN]
    return [*(o for o in tiny if not o.startswith("train.")), f"data.annotations={annotations}", "data.batch_size=4"]
