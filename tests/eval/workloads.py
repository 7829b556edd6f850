"""Synthetic predictions for real ground truth: jittered copies of the instances plus background."""
from __future__ import annotations

import numpy as np

from ptal.data.annotations import PACKAGED_THUMOS14

THUMOS14_GT = PACKAGED_THUMOS14 / "gt.json"


def synthetic_predictions(ground_truth: dict, subset: str, per_video: int, seed: int = 0) -> dict:
    """An ActivityNet results dict with ``per_video`` predictions for every video of ``subset``.

    60 % of them are around the video's instances (centre and length jittered by up to half the length,
    the right class 90 % of the time), the rest are anywhere in the video, of any class. Scores are
    uniform in [0, 1), so ties have probability 0.
    """
    rng = np.random.default_rng(seed)
    videos = {video_id: entry for video_id, entry in ground_truth["database"].items() if entry["subset"] == subset}
    class_names = sorted({a["label"] for entry in videos.values() for a in entry["annotations"]})
    results = {}
    for video_id, entry in videos.items():
        instances = np.array([[float(x) for x in a["segment"]] for a in entry["annotations"]]).reshape(-1, 2)
        instance_labels = [class_names.index(a["label"]) for a in entry["annotations"]]
        duration = (instances[:, 1].max() if len(instances) else 0.0) + 30.0
        near = rng.random(per_video) < 0.6 if len(instances) else np.zeros(per_video, dtype=bool)
        pick = rng.integers(0, max(len(instances), 1), per_video)
        if len(instances):
            lengths = np.where(near, (instances[pick, 1] - instances[pick, 0]) * rng.uniform(0.5, 1.5, per_video),
                               rng.uniform(1.0, 20.0, per_video))
            centres = np.where(near, instances[pick].mean(axis=1) + rng.uniform(-0.5, 0.5, per_video) * lengths,
                               rng.uniform(0.0, duration, per_video))
            right_class = near & (rng.random(per_video) < 0.9)
            labels = np.where(right_class, np.array(instance_labels)[pick],
                              rng.integers(0, len(class_names), per_video))
        else:
            lengths = rng.uniform(1.0, 20.0, per_video)
            centres = rng.uniform(0.0, duration, per_video)
            labels = rng.integers(0, len(class_names), per_video)
        starts = np.maximum(centres - lengths / 2, 0.0)
        ends = centres + lengths / 2
        scores = rng.random(per_video)
        results[video_id] = [{"segment": [s, e], "label": class_names[c], "score": x}
                             for s, e, c, x in zip(starts.tolist(), ends.tolist(), labels.tolist(), scores.tolist())]
    return {"version": "synthetic", "external_data": {}, "results": results}
