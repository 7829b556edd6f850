import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from ptal.data import (Annotations, LacpFeatures, PointLabels, Segments, SyntheticBenchmark, load_thumos14,
                       write_benchmark)
from ptal.data.datasets import THUMOS14
from ptal.cli import main
from ptal.data.annotations import PACKAGED_THUMOS14
from ptal.data.synthetic import Phase

CLASSES = ["a", "b"]
B, C, S, M, E = Phase.BACKGROUND, Phase.CONTEXT, Phase.START, Phase.MIDDLE, Phase.END


@pytest.fixture(scope="module")
def thumos():
    return load_thumos14()


def hand_made(segments, points_at=()):
    """One video 'v' at 25 fps with the given (start_s, end_s, class) instances and point snippets."""
    start, end, label = (np.array(column) for column in zip(*segments))
    truth = Segments(["v"], CLASSES, np.zeros(len(start), dtype=np.int64), start, end, label)
    snippet = np.array(points_at, dtype=np.int64)
    zeros = np.zeros(len(snippet), dtype=np.int64)
    points = PointLabels(["v"], CLASSES, zeros, zeros, snippet * 16, snippet * 0.64, snippet, snippet * 16,
                         snippet * 16)
    return Annotations(THUMOS14, Path("hand-made"), CLASSES, {"train": ["v"], "test": []}, {"v": 25.0}, {}, truth,
                       points)


def test_layout_hand_computed():
    # Instance [0, 6.4] s = snippets [0, 10): u = (t + 0.5) / 10 -> START for t <= 2, MIDDLE 3-6, END 7-9;
    # context: ceil(0.25 * 10) = 3 snippets after it. Instance [16.0, 16.2] s = [25, 25.3125) snippets holds
    # no snippet centre, so it is the midpoint's snippet 25 alone, with 1 context snippet on each side.
    generator = SyntheticBenchmark(hand_made([(0.0, 6.4, 0), (16.0, 16.2, 1)]), dim=8)
    layout = generator.layout("v")
    assert layout.length == generator.length("v") > 26
    assert layout.phase[:27].tolist() == [S, S, S, M, M, M, M, E, E, E, C, C, C] + [B] * 11 + [C, M, C]
    assert layout.phase[27:].tolist() == [B] * (layout.length - 27)
    assert layout.classes[:10, 0].all() and not layout.classes[10:, 0].any()
    assert np.flatnonzero(layout.classes[:, 1]).tolist() == [25]


def test_length_covers_annotations_plus_a_tail():
    # Ends at 6.4 s = 10 snippets, but a point at snippet 12 extends the covered part to 13.
    generator = SyntheticBenchmark(hand_made([(0.0, 6.4, 0)], points_at=[12]), dim=8)
    lengths = [SyntheticBenchmark(generator.annotations, dim=8, seed=seed).length("v") for seed in range(40)]
    assert min(lengths) >= 14 and len(set(lengths)) > 5


def test_points_fall_in_the_middle_phase(thumos):
    # The packaged points lie within a few frames of their instance's centre, which is always MIDDLE.
    generator = SyntheticBenchmark(thumos, dim=8)
    in_middle = []
    for video_id in thumos.splits["train"]:
        layout, points = generator.layout(video_id), thumos.points.of_video(video_id)
        in_middle += list((layout.phase[points.snippet] == M) & layout.classes[points.snippet, points.label])
    assert np.mean(in_middle) > 0.95


def test_deterministic_per_video(thumos):
    first, second = thumos.splits["test"][:2]
    features = SyntheticBenchmark(thumos, dim=16, seed=3).load(first)
    other_order = SyntheticBenchmark(thumos, dim=16, seed=3)
    other_order.load(second)
    np.testing.assert_array_equal(other_order.load(first), features)
    assert not np.array_equal(SyntheticBenchmark(thumos, dim=16, seed=4).load(first), features)
    assert features.shape == (SyntheticBenchmark(thumos, dim=16, seed=3).length(first), 16)
    assert features.dtype == np.float32 and features.min() >= 0
    np.testing.assert_array_equal(features.astype(np.float16).astype(np.float32), features)
    np.testing.assert_array_equal(SyntheticBenchmark(thumos, dim=16, seed=3).load(first, 5, 9), features[5:9])


def test_cache_holds_float16_and_is_read_back(thumos, tmp_path, monkeypatch):
    videos = thumos.splits["test"][:3]
    expected = {video: SyntheticBenchmark(thumos, dim=16).load(video) for video in videos}
    cached = SyntheticBenchmark(thumos, dim=16, cache_dir=tmp_path)
    for video in videos:
        np.testing.assert_array_equal(cached.load(video), expected[video])
        mapped = cached.mapped(video)
        assert isinstance(mapped, np.memmap) and mapped.dtype == np.float16 and not mapped.flags.writeable
        np.testing.assert_array_equal(mapped, expected[video])
    files = list(tmp_path.rglob("*.npy"))  # every video in one file: one map, one file descriptor
    total = sum(cached.length(video) for video in cached.video_ids)
    assert [f.name for f in files] == ["features.npy"] and np.load(files[0], mmap_mode="r").shape == (total, 16)
    reader = SyntheticBenchmark(thumos, dim=16, cache_dir=tmp_path)
    monkeypatch.setattr(reader, "generate", lambda video_id: pytest.fail("regenerated a cached video"))
    np.testing.assert_array_equal(reader.load(videos[1], 2, 7), expected[videos[1]][2:7])
    assert SyntheticBenchmark(thumos, dim=16, seed=1, cache_dir=tmp_path).cache_dir != reader.cache_dir


def test_a_cache_file_cut_short_is_made_again(thumos, tmp_path):
    """A cache file that does not read as the whole array (cut short, emptied) is generated again."""
    video = thumos.splits["train"][0]
    expected = SyntheticBenchmark(thumos, dim=16, cache_dir=tmp_path).load(video)
    path = next(tmp_path.rglob("features.npy"))
    for damaged in (path.read_bytes()[:-100], b""):
        path.write_bytes(damaged)
        np.testing.assert_array_equal(SyntheticBenchmark(thumos, dim=16, cache_dir=tmp_path).load(video), expected)


@pytest.mark.parametrize("difficulty", [-1.0, float("nan"), float("inf")])
def test_difficulty_must_be_finite_and_not_negative(thumos, difficulty):
    with pytest.raises(ValueError, match=f"difficulty must be in \\[0, 1000\\], got {difficulty}"):
        SyntheticBenchmark(thumos, dim=8, difficulty=difficulty)


def test_written_benchmark_reads_back_through_the_lacp_reader(thumos, tmp_path):
    splits = {"train": thumos.splits["train"][:3], "test": thumos.splits["test"][:2]}
    subset = dataclasses.replace(thumos, splits=splits)
    generator = SyntheticBenchmark(subset, dim=6, seed=2)
    write_benchmark(generator, tmp_path, ["train", "test"])
    for split, videos in subset.splits.items():
        reader = LacpFeatures(tmp_path, split, dim=6)
        for video in videos:
            np.testing.assert_array_equal(reader.load(video), generator.load(video))
    assert load_thumos14(tmp_path).points.snippet.tolist() == thumos.points.snippet.tolist()
    assert json.loads((tmp_path / "synthetic.json").read_text())["seed"] == 2


def test_cli_writes_the_lacp_layout(thumos, tmp_path):
    assert main(["data", "synth", "--out", str(tmp_path), "--d", "4", "--seed", "1", "--split", "train"]) == 0
    assert sorted(p.name for p in (tmp_path / "features").iterdir()) == ["train"]
    assert len(list((tmp_path / "features" / "train" / "flow").glob("*.npy"))) == 200
    assert (tmp_path / "point_gaussian" / "point_labels.csv").is_file()
    assert json.loads((tmp_path / "synthetic.json").read_text())["boundary_context"] == 0.8
    video = thumos.splits["train"][7]
    np.testing.assert_array_equal(LacpFeatures(tmp_path, "train", dim=4).load(video),
                                  SyntheticBenchmark(thumos, dim=4, seed=1).load(video))


@pytest.mark.parametrize("flags, message", [
    (["--d", "5"], "--d must be an even number >= 2 in the LACP layout (a number >= 1 in SF-Net's), got 5"),
    (["--boundary-context", "1.5"], "--boundary-context must be in [0, 1], got 1.5"),
    (["--difficulty", "-1"], "--difficulty must be in [0, 1000], got -1.0"),
    (["--annotations", "{tmp}/absent"], "THUMOS14 annotation directory {tmp}/absent does not exist or is not a "
                                        "directory"),
])
def test_cli_mistakes_are_one_line(tmp_path, capsys, flags, message):
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    assert main(["data", "synth", "--out", str(tmp_path / "out"), *flags]) == 2
    message = message.format(tmp=tmp_path)
    assert capsys.readouterr().err == f"ptal data: error: {message} (--debug shows the traceback)\n"
    assert not (tmp_path / "out").exists()


def test_cli_names_a_malformed_annotation_file(tmp_path, capsys):
    annotations = tmp_path / "annotations"
    shutil.copytree(PACKAGED_THUMOS14, annotations)
    (annotations / "fps_dict.json").write_text('{"video_validation_0000051": 30,')
    assert main(["data", "synth", "--out", str(tmp_path / "out"), "--annotations", str(annotations)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"ptal data: error: {annotations / 'fps_dict.json'}: not valid JSON (")
    assert error.count("\n") == 1


def detections(generator, videos, score_of, is_action):
    """Segments of every run of snippets where ``is_action`` holds, once per class, scored by the run's mean
    of ``score_of[:, c]``: (video, start_s, end_s, class, score) rows."""
    templates = generator.templates()
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    phases = unit(np.stack([templates.start, templates.middle, templates.end], axis=1))  # (C, 3, D)
    background = unit(np.concatenate([templates.background, templates.context]))
    rows = []
    for index, video in enumerate(videos):
        features = unit(generator.load(video))
        similarity = np.einsum("td,cpd->tcp", features, phases)
        scores = score_of(similarity)
        action = is_action(similarity, (features @ background.T).max(axis=1))
        edges = np.diff(np.concatenate([[0], action.astype(int), [0]]))
        for first, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            rows += [(index, first * 0.64, stop * 0.64, c, scores[first:stop, c].mean())
                     for c in range(scores.shape[1])]
    video, start, end, label, score = zip(*rows)
    return Segments(videos, generator.annotations.class_names, video, start, end, label, score)


def test_benchmark_measures_completeness(thumos):
    # A template-matching oracle that knows every phase localises well; one that knows only the middle
    # phase finds every instance (high mAP@0.1) but only its middle 40 % (tIoU 0.4: low mAP@0.7).
    from ptal.eval import detection_map

    videos = thumos.splits["test"][::5]
    generator = SyntheticBenchmark(thumos, dim=192)
    everything = thumos.ground_truth
    truth = everything.take(np.isin(np.array(everything.video_ids)[everything.video], videos))
    truth = Segments(videos, truth.class_names, [videos.index(truth.video_ids[v]) for v in truth.video],
                     truth.start, truth.end, truth.label)
    oracle = detections(generator, videos, lambda s: s.max(axis=2),
                        lambda s, background: s.max(axis=(1, 2)) > background)
    middle = detections(generator, videos, lambda s: s[:, :, 1], lambda s, background: (
        s[:, :, 1].max(axis=1) > np.maximum(background, s[:, :, [0, 2]].max(axis=(1, 2)))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from the subset
        oracle_map, middle_map = (detection_map(truth, found).map for found in (oracle, middle))
    assert oracle_map.min() > 0.7 and oracle_map[0] > 0.85, oracle_map
    assert middle_map[0] > 0.9 and middle_map[-1] < 0.05, middle_map


@pytest.mark.parametrize("beta", [0.8, 0.4, 0.0])
def test_boundary_context_sets_the_start_and_end_latents(thumos, beta):
    # START = β g + √(1 − β²) a_c: its latent cosine with the context 0.8 q + 0.6 g is 0.6 β, with its own
    # middle 0.3 g + 0.954 m_c 0.3 β, with another class's start β².
    prototypes = SyntheticBenchmark(thumos, dim=8, boundary_context=beta).prototypes
    start, end = prototypes.start(np.array([0, 1])), prototypes.end(np.array([0]))
    context, middle = prototypes.context(np.array([0])), prototypes.middle(np.array([0]))
    np.testing.assert_allclose(np.linalg.norm(start, axis=1), 1)
    np.testing.assert_allclose([start[0] @ context[0], start[0] @ middle[0], start[0] @ start[1], end[0] @ context[0]],
                               [0.6 * beta, 0.3 * beta, beta**2, 0.6 * beta], atol=1e-12)


def test_boundary_context_changes_the_features_and_the_cache(thumos, tmp_path):
    video = thumos.splits["train"][0]
    default, explicit = SyntheticBenchmark(thumos, dim=16), SyntheticBenchmark(thumos, dim=16, boundary_context=0.8)
    np.testing.assert_array_equal(explicit.load(video), default.load(video))
    other = SyntheticBenchmark(thumos, dim=16, boundary_context=0.4, cache_dir=tmp_path)
    layout = other.layout(video)
    at_boundaries = np.isin(layout.phase, [Phase.START, Phase.END])
    changed = np.any(other.load(video) != default.load(video), axis=1)
    assert changed[at_boundaries].all() and not changed[~at_boundaries].any()
    assert other.cache_dir != SyntheticBenchmark(thumos, dim=16, cache_dir=tmp_path).cache_dir


@pytest.mark.parametrize("beta", [-0.1, 1.5, float("nan")])
def test_boundary_context_must_be_a_weight(thumos, beta):
    with pytest.raises(ValueError, match="boundary_context must be in \\[0, 1\\]"):
        SyntheticBenchmark(thumos, dim=8, boundary_context=beta)
