"""ActivityNet 1.3 and 1.2: the protocol (validation evaluated at [0.5:0.05:0.95], features rescaled to T = 100,
points in the rescaled snippets), the readers of the layouts its features come in (W-TALC's arrays; one .npy per
video beside ActivityNet's JSON), their errors, and the statistical twin's structure."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ptal.cli import main
from ptal.data import NpyFeatures, load_annotations, load_point_labels
from ptal.data.datasets import ACTIVITYNET12, ACTIVITYNET13
from ptal.data.features import RescaledFeatures, rescale
from ptal.data.structure import statistical_structure
from ptal.models import build_method, method_config
from ptal.models.common import load_dataset
from tests.data.test_sfnet import write_sfnet_folder
from tests.tiny import TINY_APN, TINY_LACP


def plain_rescale(features: np.ndarray, length: int) -> np.ndarray:
    """The spec, one feature column at a time: output snippet i samples the input at its centre's position
    (i + 0.5) T / length - 0.5 (clipped to the first and last snippet), linearly interpolated (np.interp)."""
    grid = np.clip((np.arange(length) + 0.5) * len(features) / length - 0.5, 0, len(features) - 1)
    return np.stack([np.interp(grid, np.arange(len(features)), column) for column in features.T.astype(np.float64)], 1)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 130), st.integers(1, 5), st.integers(0, 2 ** 31))
def test_rescale_equals_the_plain_interpolation(length_in, length_out, dim, seed):
    features = np.random.default_rng(seed).standard_normal((length_in, dim)).astype(np.float32)
    rescaled = rescale(features, length_out)
    assert rescaled.shape == (length_out, dim) and rescaled.dtype == np.float32
    np.testing.assert_allclose(rescaled, plain_rescale(features, length_out), rtol=1e-5, atol=1e-5)
    # ... which is PyTorch's linear interpolation without aligned corners (its positions computed in float32)
    torch_rescaled = F.interpolate(torch.from_numpy(features).T[None], size=length_out, mode="linear",
                                   align_corners=False)[0].T.numpy()
    np.testing.assert_allclose(rescaled, torch_rescaled, rtol=1e-3, atol=5e-4)


def test_rescale_edge_cases():
    features = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(rescale(features, 4), features)  # same length: unchanged
    np.testing.assert_array_equal(rescale(features[:1], 5), np.repeat(features[:1], 5, 0))  # one snippet: repeated
    np.testing.assert_allclose(rescale(features, 1), features.mean(0, keepdims=True))  # the centre of 4 snippets
    with pytest.raises(ValueError, match="0 snippets"):
        rescale(features[:0], 3)


def test_the_facts_of_activitynet():
    assert len(ACTIVITYNET13.class_names) == 200 == len(set(ACTIVITYNET13.class_names))
    assert len(ACTIVITYNET12.class_names) == 100 == len(set(ACTIVITYNET12.class_names))
    for spec in (ACTIVITYNET13, ACTIVITYNET12):
        assert spec.eval_split == "validation" and spec.fixed_length == 100 and spec.points == "uniform"
        np.testing.assert_allclose(spec.tiou_thresholds, np.arange(0.5, 0.951, 0.05))
    assert dict(ACTIVITYNET13.twin.videos) == {"training": 10_024, "validation": 4_926}
    assert dict(ACTIVITYNET13.twin.instances) == {"training": 15_410, "validation": 7_654}
    assert dict(ACTIVITYNET12.twin.videos) == {"training": 4_819, "validation": 2_383}


@pytest.mark.parametrize("spec", [ACTIVITYNET13, ACTIVITYNET12])
def test_the_twins_structure_has_the_published_statistics(spec):
    splits, fps, durations, truth = statistical_structure(spec)
    assert {split: len(videos) for split, videos in splits.items()} == dict(spec.twin.videos)
    index = {video: i for i, video in enumerate(truth.video_ids)}
    seconds = np.array([durations[video] for video in truth.video_ids])
    for split, videos in splits.items():
        rows = np.isin(truth.video, [index[v] for v in videos])
        assert rows.sum() == spec.twin.instances[split]
        per_video = np.bincount(truth.video[rows], minlength=len(truth.video_ids))[[index[v] for v in videos]]
        assert per_video.min() >= 1
        classes = np.bincount(truth.label[rows], minlength=len(spec.class_names))
        assert classes.min() > 0  # every class in every split
    assert np.all(truth.start >= 0) and np.all(truth.end <= seconds[truth.video]) and np.all(truth.end > truth.start)
    for video in range(len(truth.video_ids)):  # one class per video, instances apart
        rows = truth.video == video
        assert len(set(truth.label[rows])) == 1
        assert np.all(truth.start[rows][1:] >= truth.end[rows][:-1])
    assert abs(seconds.mean() / spec.twin.mean_duration - 1) < 0.03
    assert set(fps.values()) == {30.0}
    again = statistical_structure(spec)[3]
    np.testing.assert_array_equal(again.start, truth.start)


def activitynet_json(path, videos):
    """``videos`` = [(video, subset, duration, [(start, end, label)])], as activity_net.v1-3.min.json (no fps)."""
    database = {video: {"subset": subset, "duration": duration, "url": f"https://www.youtube.com/watch?v={video}",
                        "annotations": [{"segment": [s, e], "label": label} for s, e, label in rows]}
                for video, subset, duration, rows in videos}
    path.write_text(json.dumps({"version": "VERSION 1.3", "taxonomy": [], "database": database}))
    return path


VIDEOS = [("abcdefghijk", "training", 120.0, [(10.0, 50.0, "Archery"), (70.5, 118.0, "Archery")]),
          ("-0123456789", "training", 31.2, [(0.0, 31.2, "Zumba")]),
          ("zyxwvutsrqp", "validation", 64.0, [(5.0, 20.0, "Ballet")]),
          ("testvideo01", "testing", 50.0, [])]


def test_activitynet_json_and_points_in_rescaled_snippets(tmp_path):
    path = activitynet_json(tmp_path / "activity_net.v1-3.min.json", VIDEOS)
    annotations = load_annotations("activitynet13", path, points_seed=3)
    assert annotations.splits == {"training": ["abcdefghijk", "-0123456789"], "validation": ["zyxwvutsrqp"]}
    assert annotations.snippet_seconds("abcdefghijk") == 1.2 and annotations.fixed_length == 100
    points = annotations.points
    assert len(points) == 3
    durations = np.array([annotations.durations[v] for v in points.video_ids])[points.video]
    np.testing.assert_array_equal(points.snippet, np.minimum(np.floor(points.time * 100 / durations), 99))
    truth = annotations.ground_truth
    for video_id in points.video_ids:  # each point in the rescaled snippets of its instance
        point, rows = points.of_video(video_id), truth.of_video(video_id)
        step = annotations.snippet_seconds(video_id)
        assert all(any(s / step - 1 <= t <= e / step for s, e in zip(rows.start, rows.end)) for t in point.snippet)
    whole = load_annotations("activitynet13", path, points_seed=3, fixed_length=0)
    np.testing.assert_array_equal(whole.points.frame, points.frame)  # the same draws, other snippets
    assert whole.snippet_seconds("abcdefghijk") == 16 / 30


def test_a_json_video_without_duration_is_named(tmp_path):
    path = activitynet_json(tmp_path / "gt.json", VIDEOS)
    document = json.loads(path.read_text())
    del document["database"]["-0123456789"]["duration"]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"gt.json: video '-0123456789' has points but no duration"):
        load_annotations("activitynet13", path)
    with pytest.raises(FileNotFoundError, match="missing.json does not exist"):
        load_annotations("activitynet13", tmp_path / "missing.json")


@pytest.mark.parametrize("video, field, value, error", [
    ("abcdefghijk", "annotations", [{"segment": [-4.0, 50.0], "label": "Archery"}],
     r"gt.json: video 'abcdefghijk' has the segment \[-4.0, 50.0\] s, outside \[0, 86400\] s"),
    ("abcdefghijk", "duration", 1e9, r"gt.json: video 'abcdefghijk' has duration 1000000000.0; expected at most 86400"),
    ("abcdefghijk", "fps", 1e308, r"gt.json: video 'abcdefghijk' has frame rate 1e\+308; expected at most 1000"),
])
def test_json_values_beyond_a_video_are_named(tmp_path, video, field, value, error):
    """Found by the malformed-input tests: a negative start gave a negative point frame (which indexes the
    features from their end), a frame rate of 1e308 an OverflowError while drawing points."""
    path = activitynet_json(tmp_path / "gt.json", VIDEOS)
    document = json.loads(path.read_text())
    document["database"][video][field] = value
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=error):
        load_annotations("activitynet13", path)


def data_config(*overrides, model="lacp"):
    tiny = TINY_LACP if model == "lacp" else TINY_APN
    return method_config(None, [f"model.name={model}", *tiny, *overrides])


def test_one_npy_per_video_beside_the_json(tmp_path):
    path = activitynet_json(tmp_path / "activity_net.v1-3.min.json", VIDEOS)
    rng = np.random.default_rng(0)
    originals = {}
    for video, _, duration, _ in VIDEOS[:3]:
        originals[video] = rng.standard_normal((int(duration / (16 / 30)), 8)).astype(np.float32)
        np.save(tmp_path / f"v_{video}.npy", originals[video])  # named as ActivityNet's feature releases name them
    config = data_config("data.dataset=activitynet13", f"data.source={tmp_path}", f"data.annotations={path}")
    annotations, train, evaluated = load_dataset(config.data)
    assert [item.video_id for item in train] == ["abcdefghijk", "-0123456789"]
    for item in train + evaluated:
        assert item.features.shape == (100, 8)
        np.testing.assert_allclose(item.features.numpy(), plain_rescale(originals[item.video_id], 100), atol=1e-5)
        assert item.seconds_per_snippet == annotations.durations[item.video_id] / 100
    assert train[0].point_labels.sum() == 2
    (tmp_path / "v_zyxwvutsrqp.npy").unlink()
    with pytest.raises(FileNotFoundError, match="'zyxwvutsrqp'.*v_zyxwvutsrqp.npy does not exist"):
        load_dataset(config.data)
    np.save(tmp_path / "v_zyxwvutsrqp.npy", np.zeros((5, 7), np.float32))
    with pytest.raises(ValueError, match="v_zyxwvutsrqp.npy: features of size 7; expected 8"):
        load_dataset(config.data)


def test_wtalcs_activitynet12_layout_trains_both_models(tmp_path):
    """A folder as W-TALC's release names it: ActivityNet1.2-I3D-JOINTFeatures.npy + ActivityNet1.2-Annotations/."""
    rng = np.random.default_rng(1)
    classes = list(ACTIVITYNET12.class_names)
    videos, features = [], []
    for i in range(8):
        duration = float(rng.uniform(20, 200))
        start = float(rng.uniform(0, duration / 2))
        videos.append((f"video_{i}", "training" if i < 5 else "validation",
                       [(start, start + duration / 3, classes[i % 3])], duration))
        features.append(rng.random((int(duration / (16 / 30)), 6)).astype(np.float32))
    write_sfnet_folder(tmp_path, "ActivityNet1.2", videos, features, classes=classes)
    for model in ("lacp", "apn"):
        config = data_config("data.dataset=activitynet12", f"data.source={tmp_path}", "data.feature_dim=6",
                             f"train.out_dir={tmp_path / model}", model=model)
        method = build_method(config)
        assert len(method.train_items) == 5 and len(method.eval_items) == 3
        for item, original in zip(method.train_items, features):
            np.testing.assert_allclose(item.features.numpy(), plain_rescale(original, 100), atol=1e-5)
        predictions = method.predictions()
        counts = np.bincount(predictions.video, minlength=3)
        assert counts.max() <= 100
        for video in range(3):  # at most 2 classes per video
            assert len(set(predictions.label[predictions.video == video])) <= 2
    # a label that is not one of ActivityNet 1.2's classes is named with its file and video
    write_sfnet_folder(tmp_path, "ActivityNet1.2", [("bad_video", "training", [(1.0, 2.0, "Quidditch")], 9.0)],
                       classes=classes)
    with pytest.raises(ValueError, match="video 'bad_video': label 'Quidditch' .*not a class of ActivityNet 1.2"):
        load_annotations("activitynet12", tmp_path / "ActivityNet1.2-Annotations")


def test_data_points_for_activitynet(tmp_path, capsys):
    path = activitynet_json(tmp_path / "activity_net.v1-3.min.json", VIDEOS)
    assert main(["data", "points", "--dataset", "activitynet13", "--annotations", str(path), "--out",
                 str(tmp_path / "points.csv"), "--seed", "5"]) == 0
    assert "3 points of 3 instances of ActivityNet 1.3's training split" in capsys.readouterr().out
    annotations = load_annotations("activitynet13", path)
    written = load_point_labels(tmp_path / "points.csv", annotations.fps, ACTIVITYNET13)
    drawn = load_annotations("activitynet13", path, points="uniform", points_seed=5, fixed_length=0).points
    np.testing.assert_array_equal(written.frame, drawn.frame)
    np.testing.assert_array_equal(written.frame, np.round(written.time * 30))  # frames at 30 fps
    # training from that CSV puts its points in the rescaled snippets
    from_csv = load_annotations("activitynet13", path, points=str(tmp_path / "points.csv"))
    np.testing.assert_array_equal(from_csv.points.snippet, load_annotations(
        "activitynet13", path, points="uniform", points_seed=5).points.snippet)
    # the twin's structure, without --annotations: round(4 819 x 15 410 / 10 024) instances
    assert main(["data", "points", "--dataset", "activitynet12", "--out", str(tmp_path / "twin.csv")]) == 0
    assert "7408 points of 7408 instances of ActivityNet 1.2's training split" in capsys.readouterr().out


def rows_of(found):
    return sorted(zip(found.video.tolist(), found.label.tolist(), found.start.round(9).tolist(),
                      found.end.round(9).tolist(), found.score.round(9).tolist()))


def plain_caps(rows, video_scores, max_classes, max_per_video):
    """The spec of the caps: per video, its detections of the ``max_classes`` classes of highest video score,
    then the ``max_per_video`` of highest score."""
    kept = []
    for video, scores in enumerate(video_scores):
        classes = sorted(range(len(scores)), key=lambda c: -scores[c])[:max_classes]
        own = sorted((row for row in rows if row[0] == video and row[1] in classes), key=lambda row: -row[4])
        kept += own[:max_per_video]
    return sorted(kept)


@pytest.mark.parametrize("seed", range(4))
def test_lacps_class_and_prediction_caps_equal_a_plain_filter(seed):
    from ptal.models.lacp.inference import InferenceSettings, predict
    from ptal.models.lacp.network import LacpOutput

    generator = torch.Generator().manual_seed(seed)
    batch, length, classes = 3, 30, 6
    cas = torch.rand(batch, length, classes + 1, generator=generator)
    video_score = torch.rand(batch, classes, generator=generator)
    output = LacpOutput(video_score=video_score, cas=cas, embedded=torch.zeros(batch, length, 1))
    lengths = torch.tensor([30, 22, 9])
    steps = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    names, videos = [str(c) for c in range(classes)], ["a", "b", "c"]
    every = predict(output, lengths, videos, names, InferenceSettings(class_threshold=0.0, scale=4),
                    seconds_per_snippet=steps)
    capped = predict(output, lengths, videos, names, InferenceSettings(class_threshold=0.0, scale=4, max_classes=2,
                                                                       max_per_video=7), seconds_per_snippet=steps)
    assert rows_of(capped) == plain_caps(rows_of(every), video_score.tolist(), 2, 7)


@pytest.mark.parametrize("seed", range(4))
def test_apns_class_cap_equals_a_plain_filter(seed):
    from ptal.models.apn.inference import InferenceSettings, suppress

    rng = np.random.default_rng(seed)
    count, classes = 60, 5
    video = torch.from_numpy(np.sort(rng.integers(0, 4, count)))
    start = torch.from_numpy(rng.uniform(0, 50, count))
    segments = torch.stack([start, start + torch.from_numpy(rng.uniform(1, 20, count))], 1)
    label = torch.from_numpy(rng.integers(0, classes, count))
    score = torch.from_numpy(rng.random(count)).float()
    settings = dict(nms="hard", nms_threshold=0.5, top_k=100)
    keep, kept = suppress(video, segments, label, score, classes, InferenceSettings(**settings))
    keep2, kept2 = suppress(video, segments, label, score, classes, InferenceSettings(**settings, max_classes=2))
    rows = [(int(video[i]), int(label[i]), float(s)) for i, s in zip(keep, kept)]
    expected = []
    for v in sorted({row[0] for row in rows}):
        best = {}
        for _, c, s in (row for row in rows if row[0] == v):
            best[c] = max(best.get(c, -1), s)
        chosen = sorted(best, key=lambda c: (-best[c], c))[:2]
        expected += [row for row in rows if row[0] == v and row[1] in chosen]
    assert sorted((int(video[i]), int(label[i]), float(s)) for i, s in zip(keep2, kept2)) == sorted(expected)


@pytest.mark.parametrize("cache", [" ", "\t\n"])
def test_a_blank_cache_is_an_error(cache):
    # A run writes the twin's features to data.cache: a blank name is a mistake, not a folder called " ".
    from ptal.models.lacp import LacpConfig
    from ptal.train import config_from_dict

    with pytest.raises(ValueError, match="data.cache must be a folder path, or empty"):
        config_from_dict(LacpConfig, {"data": {"cache": cache}})


def test_the_twin_is_memory_mapped_and_generated_once(tmp_path, monkeypatch):
    from ptal.data.synthetic import SyntheticBenchmark

    config = data_config("data.dataset=activitynet12", "data.subset=0.004")
    assert config.data.cache.endswith("ptal-cache")  # conftest's $PTAL_CACHE
    annotations, train, evaluated = load_dataset(config.data)
    assert (len(train), len(evaluated)) == (20, 10)  # ceil(0.004 x 4 819), ceil(0.004 x 2 383)
    for item in train + evaluated:
        assert item.features.shape == (100, 8) and item.features.dtype == torch.float16
        assert item.seconds_per_snippet == annotations.durations[item.video_id] / 100
    assert sum(len(item.segments) for item in train) == sum(len(annotations.ground_truth.of_video(v))
                                                            for v in annotations.splits["training"])
    monkeypatch.setattr(SyntheticBenchmark, "generate", lambda self, video: pytest.fail("generated again"))
    _, again, _ = load_dataset(config.data)
    torch.testing.assert_close(again[3].features, train[3].features, rtol=0, atol=0)


def test_mapped_float16_items_train_as_float32_ones(tmp_path):
    """The twins' values are exact in float16: a run on the memory-mapped cache equals a run in memory."""
    results = []
    for cache in ("", str(tmp_path)):
        method = build_method(data_config("data.dataset=gtea", f"data.cache={cache}",
                                          f"train.out_dir={tmp_path / 'run'}"))
        assert method.train_items[0].features.dtype == (torch.float16 if cache else torch.float32)
        method.search()
        results.append((method.pseudo_labels, method.predictions()))
    for first, second in zip(results[0][0], results[1][0]):
        torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert rows_of(results[0][1]) == rows_of(results[1][1])


def test_print_config_and_demo_flags(capsys):
    assert main(["train", "--print-config", "model.name=lacp", "data.dataset=activitynet12"]) == 0
    printed = capsys.readouterr().out
    assert "every video rescaled to 100 snippets (data.fixed_length)" in printed
    assert "inference.max_per_video=100: at most 100 predictions per video" in printed
    assert "fixed_length: 100" in printed and "select_by: average_0.5:0.95" in printed
    assert main(["train", "--print-config", "data.dataset=gtea"]) == 0
    assert "fixed_length: 0" in capsys.readouterr().out
    assert main(["demo", "--dataset", "gtea", "--full"]) == 2
    assert "--full applies to ActivityNet's twins" in capsys.readouterr().err


def test_a_path_like_video_id_is_named_with_its_json(tmp_path):
    path = activitynet_json(tmp_path / "gt.json", [("../escaped", "training", 9.0, [(1.0, 2.0, "Zumba")])])
    with pytest.raises(ValueError, match=r"gt.json: video id '../escaped' is not a plain file name"):
        load_annotations("activitynet13", path)


def test_points_that_mark_no_instance_are_named(tmp_path):
    """A point-label CSV for other annotations: its point between the two Archery instances marks neither."""
    path = activitynet_json(tmp_path / "gt.json", VIDEOS)
    archery = ACTIVITYNET13.class_names.index("Archery")
    (tmp_path / "points.csv").write_text("class,class_index,start_frame,stop_frame,video_id,point\n"
                                         f"Archery,{archery},300,1500,abcdefghijk,900\n"  # 30 s: in [10, 50]
                                         f"Archery,{archery},1500,2115,abcdefghijk,1800\n")  # 60 s: in none
    with pytest.raises(ValueError, match=r"points.csv: video 'abcdefghijk': the Archery point at frame 1800 \(60.00 s\) "
                                         r"lies in no Archery instance of the ground truth of .*gt.json"):
        load_annotations("activitynet13", path, points=str(tmp_path / "points.csv"))
