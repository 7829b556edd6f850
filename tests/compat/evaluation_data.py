"""ActionFormer- and OpenTAD-format ground truth and predictions made from ptal's packaged THUMOS14 annotations."""
from __future__ import annotations

import json

import numpy as np

from tests.eval.workloads import THUMOS14_GT, synthetic_predictions


def thumos14_documents():
    """(ground truth, ActivityNet-style results) of THUMOS14's test and validation videos, 200 predictions per
    test video (no predictions for the validation subset)."""
    ground_truth = json.loads(THUMOS14_GT.read_text())
    return ground_truth, synthetic_predictions(ground_truth, "test", 200, seed=3)


def actionformer_ground_truth(ground_truth: dict) -> dict:
    """ActionFormer's annotation layout: numeric segments, ``label_id``, capitalised subsets."""
    classes = sorted({a["label"] for entry in ground_truth["database"].values() for a in entry["annotations"]})
    return {"database": {video: {"subset": entry["subset"].capitalize(),
                                 "annotations": [{"segment": [float(x) for x in a["segment"]], "label": a["label"],
                                                  "label_id": classes.index(a["label"])}
                                                 for a in entry["annotations"]]}
                         for video, entry in ground_truth["database"].items()}}, classes


def actionformer_predictions(results: dict, classes: list, decimals: int | None = None) -> dict:
    """ActionFormer's prediction dict (arrays ``video-id``, ``t-start``, ``t-end``, ``label``, ``score``); scores
    rounded to ``decimals`` make ties."""
    rows = [(video, p["segment"][0], p["segment"][1], classes.index(p["label"]), p["score"])
            for video, predictions in results["results"].items() for p in predictions]
    score = np.array([r[4] for r in rows])
    return {"video-id": [r[0] for r in rows], "t-start": np.array([r[1] for r in rows]),
            "t-end": np.array([r[2] for r in rows]), "label": np.array([r[3] for r in rows]),
            "score": score if decimals is None else np.round(score, decimals)}


def thumos14_files(folder):
    """THUMOS14 in ActionFormer's annotation layout written to ``folder``: (its path, the ActivityNet-style results
    of ``thumos14_documents``, the class names by label id)."""
    ground_truth, results = thumos14_documents()
    af_ground_truth, classes = actionformer_ground_truth(ground_truth)
    path = folder / "thumos14.json"
    path.write_text(json.dumps(af_ground_truth))
    return str(path), results, classes
