"""The benchmarks' descriptions and the annotations ptal packages for them: the facts the issue counted from
SF-Net's release, read through every kind of annotation folder."""
import hashlib
import json

import numpy as np
import pytest

from ptal.data import DATASETS, SyntheticBenchmark, dataset_spec, load_annotations, write_benchmark
from ptal.data.datasets import BEOID, GTEA, THUMOS14

# SHA-256 of SF-Net's files (commit a82bc04, data/; see ptal/data/{gtea,beoid}/PROVENANCE.md).
SFNET_SHA256 = {
    "gtea/gt.json": "c8f95e72c8741d5b82c2feb003c85f7439d0a97c9a48e8e014216bb3117ce9aa",
    "beoid/gt.json": "00865d34a2c3a0c93a9ebabde2662a76c4b39b192b73347422103ddf9a89ae1c",
    "gtea/single_frames/GTEA1.txt": "6cf030b0adf62fdab962bfa4e8434d02e9402950c81291fa836c36921dca5986",
    "beoid/single_frames/BEOID4.txt": "a362ba2b79f71c580ae08e8a8f8dd311441b65f3e8e32c0f1ff237dd1fa8b51e",
    "thumos14/single_frames/THUMOS2.txt": "4578db0f45ea20f5699247622593a765ef96d95ec242065492c0eefbf2e14227",
}


def test_packaged_copies_are_sfnets_files():
    for name, digest in SFNET_SHA256.items():
        path = THUMOS14.packaged.parent / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("spec, videos, classes, instances, fps, mean_seconds", [
    (GTEA, (21, 7), 7, 497, 15.0, 2.7),
    (BEOID, (46, 12), 34, 742, 30.0, 1.6),
])
def test_the_facts_of_gtea_and_beoid(spec, videos, classes, instances, fps, mean_seconds):
    annotations = load_annotations(spec)
    assert tuple(len(annotations.splits[s]) for s in (spec.train_split, spec.eval_split)) == videos
    assert len(annotations.class_names) == classes and len(annotations.ground_truth) == instances
    assert set(annotations.fps.values()) == {fps} and len(annotations.durations) == sum(videos)
    truth = annotations.ground_truth
    assert np.mean(truth.end - truth.start) == pytest.approx(mean_seconds, abs=0.05)
    labels = {a["label"] for v in json.loads((spec.packaged / "gt.json").read_text())["database"].values()
              for a in v["annotations"]}
    assert labels == set(spec.class_names)  # the class list is the ground truth's
    assert annotations.snippet_seconds(annotations.splits[spec.train_split][0]) == pytest.approx(16 / fps)
    assert len(annotations.points) == sum(annotations.ground_truth.video == annotations.ground_truth.video_ids.index(v)
                                          for v in annotations.splits[spec.train_split]).sum()  # uniform: one each


def test_descriptions():
    assert list(DATASETS) == ["thumos14", "gtea", "beoid", "activitynet13", "activitynet12"]
    for spec in DATASETS.values():
        assert len(set(spec.class_names)) == len(spec.class_names)
        assert {spec.train_split, spec.eval_split} <= set(spec.splits)
        thresholds = np.linspace(0.5, 0.95, 10) if spec.name.startswith("activitynet") else np.linspace(0.1, 0.7, 7)
        assert spec.tiou_thresholds == pytest.approx(thresholds)
        for setting in (s for family in spec.settings.values() for s in family):
            assert setting.source  # every value a benchmark changes says where it comes from
    assert THUMOS14.split_of_subset("Validation") == "train" and GTEA.split_of_subset("testing") is None
    with pytest.raises(ValueError, match="unknown data.dataset 'anet'; known: thumos14, gtea, beoid, activitynet13, activitynet12"):
        dataset_spec("anet")


def test_every_folder_kind_gives_the_same_annotations(tmp_path):
    # GTEA's packaged gt.json (ActivityNet style), and its twin written in LACP's and in SF-Net's layout.
    packaged = load_annotations(GTEA)
    generator = SyntheticBenchmark(packaged, dim=4)
    write_benchmark(generator, tmp_path / "lacp", layout="lacp")
    write_benchmark(generator, tmp_path / "sfnet", layout="sfnet")
    for folder in (tmp_path / "lacp", tmp_path / "sfnet" / "GTEA-Annotations"):
        other = load_annotations(GTEA, folder)
        assert other.splits == packaged.splits and other.fps == packaged.fps
        assert other.durations == pytest.approx(packaged.durations)
        for column in ("video", "start", "end", "label"):
            np.testing.assert_array_equal(getattr(other.ground_truth, column), getattr(packaged.ground_truth, column))
        assert other.points.frame.tolist() == packaged.points.frame.tolist()  # uniform, seed 0, same instances
    assert (tmp_path / "lacp" / "single_frames" / "GTEA1.txt").is_file()
    assert (tmp_path / "sfnet" / "GTEA-Annotations" / "single_frames" / "GTEA1.txt").is_file()


def test_missing_or_unknown_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"GTEA annotation directory .*absent does not exist"):
        load_annotations(GTEA, tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"no GTEA annotations: expected gt.json"):
        load_annotations(GTEA, tmp_path)
    (tmp_path / "gt.json").write_text(json.dumps({"database": {"v": {"subset": "test", "annotations": []}}}))
    with pytest.raises(ValueError, match=r"gt.json: no video of the subsets training, validation"):
        load_annotations(GTEA, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"holds no point_labels.csv .*choose data.points"):
        load_annotations(GTEA, points="annotations")
