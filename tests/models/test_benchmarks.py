"""Both model families on every benchmark and every layout of its files: the dataset comes from the config
(data.dataset), never from THUMOS14's constants, and THUMOS14's runs and checkpoints stay as they were."""
import re

import numpy as np
import pytest
import torch

from ptal.cli import main
from ptal.data import SyntheticBenchmark, load_annotations, write_benchmark
from ptal.data.datasets import BEOID, GTEA
from ptal.models import build_method, method_config
from ptal.train import config_from_dict, config_to_dict, load_checkpoint
from tests.data.test_sfnet import write_sfnet_folder
from tests.tiny import TINY_APN, TINY_LACP

TINY = {"lacp": TINY_LACP, "apn": TINY_APN}


def without_feature_dim(overrides):
    return [o for o in overrides if not o.startswith("data.feature_dim=")]


@pytest.fixture(scope="module")
def gtea_sfnet_folder(tmp_path_factory):
    """GTEA in SF-Net's layout as another script writes it: the object feature array (the twin's features, D = 16),
    the annotation arrays and the annotators' single frames."""
    root = tmp_path_factory.mktemp("gtea_sfnet")
    gtea = load_annotations(GTEA)
    twin = SyntheticBenchmark(gtea, dim=16)
    videos, features = [], []
    for video in gtea.ground_truth.video_ids:
        rows = gtea.ground_truth.of_video(video)
        subset = "training" if video in gtea.splits["training"] else "validation"
        videos.append((video, subset, [(s, e, GTEA.class_names[c]) for s, e, c in zip(rows.start, rows.end, rows.label)],
                       gtea.durations[video]))
        features.append(twin.load(video).astype(np.float64))  # another script's dtype
    folder = write_sfnet_folder(root, "GTEA", videos, features, classes=list(GTEA.class_names))
    (folder / "single_frames").mkdir()
    for path in (GTEA.packaged / "single_frames").glob("*.txt"):
        (folder / "single_frames" / path.name).write_bytes(path.read_bytes())
    return root


@pytest.mark.parametrize("family", ["lacp", "apn"])
def test_sfnet_layout_trains_and_evaluates_with_the_documented_command(gtea_sfnet_folder, tmp_path, family, capsys):
    out = tmp_path / family
    assert main(["train", f"model.name={family}", "data.dataset=gtea", f"data.source={gtea_sfnet_folder}",
                 *without_feature_dim(TINY[family]), f"train.out_dir={out}"]) == 0
    assert "trained 12 iterations" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", str(out / "best.pt")]) == 0
    printed = capsys.readouterr().out
    assert f"{family.upper()} on GTEA's validation split" in printed and "0.70" in printed
    config = load_checkpoint(out / "best.pt")["config"]
    assert config["data"]["feature_dim"] is None and config["data"]["points"] == "uniform"


def test_sfnet_layout_reads_the_features_and_the_annotators(gtea_sfnet_folder):
    overrides = ["data.dataset=gtea", f"data.source={gtea_sfnet_folder}", "data.points=random-annotator",
                 *without_feature_dim(TINY_LACP)]
    method = build_method(method_config(None, overrides))
    assert [item.video_id for item in method.eval_items] == load_annotations(GTEA).splits["validation"]
    assert method.train_items[0].features.shape[1] == 16 and method.tiou_thresholds == GTEA.tiou_thresholds
    assert method.train_items[0].seconds_per_snippet == pytest.approx(16 / 15)
    twin = SyntheticBenchmark(load_annotations(GTEA), dim=16)
    np.testing.assert_allclose(method.eval_items[0].features.numpy(), twin.load(method.eval_items[0].video_id))
    assert int(method.train_items[0].point_labels.sum()) > 0


def test_feature_size_comes_from_the_files_and_a_disagreeing_one_is_named(gtea_sfnet_folder, capsys):
    assert main(["train", "data.dataset=gtea", f"data.source={gtea_sfnet_folder}", "data.feature_dim=32",
                 "train.iterations=1"]) == 2
    line = capsys.readouterr().err
    assert "data.feature_dim is 32 but the features in" in line and "have size 16" in line


def test_a_folder_of_no_known_layout_is_named(tmp_path, capsys):
    assert main(["train", "data.dataset=beoid", f"data.source={tmp_path}", "train.iterations=1"]) == 2
    error = capsys.readouterr().err
    assert f"data.source {tmp_path}: no BEOID features: expected SF-Net's layout (BEOID-I3D-JOINTFeatures.npy" in error


def test_lacp_layout_of_beoid(tmp_path):
    beoid = load_annotations(BEOID)
    write_benchmark(SyntheticBenchmark(beoid, dim=8), tmp_path, layout="lacp")
    overrides = ["data.dataset=beoid", f"data.source={tmp_path}", f"data.annotations={tmp_path}", "model.hidden=16"]
    method = build_method(method_config(None, overrides))
    assert len(method.train_items) == 46 and len(method.eval_items) == 12
    assert method.train_items[0].features.shape[1] == 8
    predictions = method.predictions()
    assert set(predictions.video_ids) == set(beoid.splits["validation"])
    longest = max(method.eval_items, key=lambda item: len(item.features))
    assert predictions.end.max() <= (len(longest.features) + 1) * 16 / 30  # BEOID's snippets, 0.533 s


def test_predictions_are_in_the_datasets_seconds():
    # One GTEA snippet is 16 / 15 s: a detection of snippets [s, e] spans [s, e + 1] * 16 / 15 seconds.
    for family in ("lacp", "apn"):
        method = build_method(method_config(None, [f"model.name={family}", "data.dataset=gtea", *TINY[family]]))
        predictions = method.predictions()
        snippets = np.concatenate([predictions.start, predictions.end]) / (16 / 15)
        fraction = snippets * (24 if family == "lacp" else 1)  # LACP's CAS is upsampled 24x
        assert np.allclose(fraction, np.round(fraction), atol=1e-6), family


def test_configs_and_checkpoints_of_earlier_versions_load(demo_run):
    """A THUMOS14 checkpoint written before the dataset layer: no data.dataset, data.points or data.points_seed,
    data.feature_dim set, and LACP's inference.seconds_per_snippet = 0.64."""
    checkpoint = load_checkpoint(demo_run / "lacp" / "last.pt")
    stored = checkpoint["config"]
    for key in ("dataset", "points", "points_seed"):
        del stored["data"][key]
    stored["data"]["eval_split"] = "test"
    stored["inference"]["seconds_per_snippet"] = 0.64
    old = config_from_dict(type(method_config(None, [])), stored)
    assert old.data.dataset == "thumos14" and old.data.points == "annotations" and old.data.feature_dim == 8
    method = build_method(old)
    method.model.load_state_dict(checkpoint["model"])
    method.load_state_dict(checkpoint["method"])
    new = build_method(method_config(None, TINY_LACP))
    new.model.load_state_dict(checkpoint["model"])
    new.load_state_dict(checkpoint["method"])
    a, b = method.predictions(), new.predictions()
    assert np.array_equal(a.start, b.start) and np.array_equal(a.score, b.score)
    stored["data"]["dataset"] = "gtea"
    stored["data"]["eval_split"] = "validation"
    with pytest.raises(ValueError, match=r"inference.seconds_per_snippet is 0.64 but a snippet of GTEA's video"):
        build_method(config_from_dict(type(old), stored))


@pytest.mark.parametrize("overrides, message", [
    (["data.dataset=anet"], "unknown data.dataset 'anet'; known: thumos14, gtea, beoid"),
    (["data.dataset=gtea", "data.eval_split=test"],
     "data.eval_split must be one of GTEA's splits, training, validation, got 'test'"),
    (["data.points=middle"], "data.points must be one of annotations, uniform, gaussian, annotator<k>, "
                             "random-annotator or a path to a point-label .csv file, got 'middle'"),
    (["data.feature_dim=0"], "data.feature_dim must be an integer >= 1, or null"),
])
def test_bad_data_settings_name_their_key(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        method_config(None, overrides)


def test_the_dataset_sets_the_split_points_and_its_model_settings():
    for family in ("lacp", "apn"):
        config = method_config(None, [f"model.name={family}", "data.dataset=beoid"])
        assert (config.data.eval_split, config.data.points) == ("validation", "uniform")
        values = config_to_dict(config)
        for setting in BEOID.settings.get(family, ()):
            section, key = setting.key.split(".")
            assert values[section][key] == setting.value, setting.key
        override = method_config(None, [f"model.name={family}", "data.dataset=beoid", "data.eval_split=training"])
        assert override.data.eval_split == "training"
    thumos = method_config(None, [])
    assert (thumos.data.dataset, thumos.data.eval_split, thumos.data.points) == ("thumos14", "test", "annotations")


def test_a_training_split_evaluated_keeps_its_points():
    method = build_method(method_config(None, ["data.dataset=gtea", "data.eval_split=training", *TINY_LACP]))
    assert [item.video_id for item in method.eval_items] == [item.video_id for item in method.train_items]
    assert all(torch.equal(a.point_labels, b.point_labels) for a, b in zip(method.eval_items, method.train_items))
