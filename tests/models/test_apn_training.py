"""APN end to end: the demo, checkpoints, infer, eval, the pseudo-label schedule, resume, configs."""
import json
from pathlib import Path

import pytest
import torch

from ptal.cli import main
from ptal.models import method_config
from ptal.data import pad
from ptal.models.apn import ApnConfig, ApnMethod
from ptal.models.apn.method import per_window_sample
from ptal.models.lacp import LacpConfig
from ptal.train import config_from_dict, config_to_dict, load_checkpoint
from tests.tiny import TINY_APN

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "apn_thumos14.yaml"


def test_the_shipped_config_is_the_defaults():
    assert config_to_dict(method_config(str(CONFIG), [])) == config_to_dict(ApnConfig())


def test_the_config_file_picks_the_model_family():
    assert isinstance(method_config(str(CONFIG), []), ApnConfig)
    assert method_config(None, ["model.name=apn"]).pseudo.frequency == 10
    assert isinstance(method_config(None, []), LacpConfig)  # LACP by default
    with pytest.raises(ValueError, match="unknown model.name 'bmn'; known: lacp, apn"):
        method_config(None, ["model.name=bmn"])


@pytest.fixture
def apn_run(demo_run):
    return demo_run / "apn"


def test_demo_trains_both_models_and_prints_them_side_by_side(demo_run, apn_run):
    for name in ("best.pt", "last.pt", "log.jsonl", "predictions.json", "timeline.png"):
        assert (apn_run / name).stat().st_size > 0, name
    log = [json.loads(line) for line in (apn_run / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iteration"] == 12
    assert {"bdm", "pem", "ctr"} <= set(log[-1]["losses"])
    metrics = log[-1]["metrics"]
    assert "average_0.1:0.7" in metrics and "pseudo/mAP@0.5" in metrics
    assert len(json.loads((apn_run / "predictions.json").read_text())["results"]) == 210
    assert (demo_run / "lacp" / "best.pt").exists()


def test_side_by_side_table(capsys):
    from ptal.cli.models import side_by_side

    class Result:
        tiou_thresholds = [0.1, 0.5]
        map = [0.5, 0.25]
        averages = {"0.1:0.5": 0.4}

    table = side_by_side({"lacp": Result(), "apn": Result()})
    lines = table.splitlines()
    assert lines[0].split() == ["model", "@0.1", "@0.5", "AVG", "0.1:0.5"]
    assert lines[1].split() == ["LACP", "50.0", "25.0", "40.0"] and lines[2].split()[0] == "APN"


def test_checkpoints_load_with_weights_only(apn_run):
    checkpoint = load_checkpoint(apn_run / "last.pt")
    assert checkpoint["config"]["model"]["name"] == "apn" and checkpoint["iteration"] == 12
    pseudo = checkpoint["method"]["pseudo"]
    assert pseudo["instances"].shape[1] == 5 and len(pseudo["instances"]) == 2998  # one per (snippet, class) point


def test_infer_draws_proposals_and_boundaries(apn_run, tmp_path):
    video = "video_validation_0000051"  # a training video: its pseudo labels are drawn too
    assert main(["infer", "--checkpoint", str(apn_run / "best.pt"), "--video", video, "--plot",
                 str(tmp_path / "t.png"), "--out", str(tmp_path / "p.json")]) == 0
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "p.json").read_text())["results"]


def test_eval_of_a_checkpoint(apn_run, capsys):
    assert main(["eval", "--checkpoint", str(apn_run / "last.pt")]) == 0
    printed = capsys.readouterr().out
    assert "APN on THUMOS14's test split" in printed and "pseudo labels" in printed
    assert main(["eval", "--checkpoint", str(apn_run / "last.pt"), "--gt", "x.json"]) == 2


def tiny_config(**sections) -> ApnConfig:
    values = config_to_dict(method_config(None, ["model.name=apn", *TINY_APN]))
    for section, changes in sections.items():
        values[section].update(changes)
    return config_from_dict(ApnConfig, values)


def test_pseudo_labels_are_refreshed_before_iteration_one_then_every_r():
    method = ApnMethod(tiny_config(pseudo={"frequency": 4}))
    refreshed = []
    method.refresh_pseudo_labels = lambda: (refreshed.append(iteration), setattr(method, "pseudo", object()))
    for iteration in range(1, 14):
        method.before_iteration(iteration)
    assert refreshed == [1, 5, 9, 13]


def test_windows_hold_points_and_their_instances():
    method = ApnMethod(tiny_config())
    method.refresh_pseudo_labels()
    assert len(method.train_windows) == 438
    batch = method._window_batch(list(range(0, 438, 30)))
    lengths = batch.lengths
    assert int(lengths.max()) <= 256 and batch.points.shape[0] == len(lengths)
    for window, points in enumerate(batch.points):
        points = points[points[:, 0] >= 0]
        assert len(points) > 0  # every training window holds a point
        assert bool(((points[:, 0] < lengths[window]) & (points[:, 2] <= points[:, 0])
                     & (points[:, 0] <= points[:, 3])).all())  # a point's instance holds it
        assert torch.equal(points[:, 0], points[:, 0].sort().values)
        video, start, _ = method.train_windows[window * 30]
        truth = method.train_points[video]
        inside = truth[(truth[:, 0] >= start) & (truth[:, 0] < start + int(lengths[window]))]
        assert torch.equal(points[:, :2], torch.stack([inside[:, 0] - start, inside[:, 1]], 1))
    instances = batch.point_instances
    assert set(instances[:, 0].tolist()) == set(range(len(lengths)))
    assert torch.equal(instances[:, [1, 2, 3]], batch.points[batch.points[:, :, 0] >= 0][:, [2, 3, 1]])


def test_per_window_sample_caps_each_window():
    eligible = torch.tensor([[True, True, True, False], [False, True, False, False], [True] * 4])
    torch.manual_seed(0)
    chosen = per_window_sample(eligible, 2)
    assert chosen.shape == (3, 2)
    assert eligible.gather(1, chosen).sum(1).tolist() == [2, 1, 2]
    assert all(len(set(row)) == 2 for row in chosen.tolist())
    drawn = torch.zeros(4)
    for _ in range(400):  # uniform among the eligible entries
        drawn += torch.zeros(4).index_add_(0, per_window_sample(eligible[2:], 2)[0], torch.ones(2))
    assert drawn.min() > 150 and drawn.max() < 250


def test_resumed_apn_run_equals_an_uninterrupted_one(tmp_path):
    """Stop after 6 iterations (pseudo labels refreshed at 1 and 5), resume to 12 (refresh at 11)."""
    tiny = ["model.name=apn", *TINY_APN, "pseudo.frequency=4", "train.eval_every=6"]
    assert main(["train", *tiny, "train.iterations=12", f"train.out_dir={tmp_path / 'whole'}"]) == 0
    assert main(["train", *tiny, "train.iterations=6", f"train.out_dir={tmp_path / 'cut'}"]) == 0
    assert main(["train", "train.iterations=12", "--resume", str(tmp_path / "cut" / "last.pt")]) == 0
    whole, resumed = (load_checkpoint(tmp_path / run / "last.pt") for run in ("whole", "cut"))
    assert whole["iteration"] == resumed["iteration"] == 12
    for name, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    for name in ("instances", "background"):
        assert torch.equal(whole["method"]["pseudo"][name], resumed["method"]["pseudo"][name])


@pytest.mark.parametrize("section, values, match", [
    ("data", {"window": -1}, "data.window must be an integer >= 0"),
    ("pseudo", {"features": "raw"}, "pseudo.features must be one of mixed, embedded, ema, input"),
    ("pseudo", {"background": "scene"}, "pseudo.background must be one of gap, video"),
    ("pseudo", {"action_medoids": "fixed"}, "pseudo.action_medoids must be one of points, update"),
    ("pseudo", {"background_span": -1}, "pseudo.background_span must be an integer >= 0"),
    ("pseudo", {"background_span": 2.5}, "pseudo.background_span must be an integer, got 2.5"),
    ("pseudo", {"background": "video", "background_span": 16}, "pseudo.background_span applies to"),
    ("pseudo", {"ema_decay": 1.0}, r"pseudo.ema_decay must be in \[0, 1\)"),
    ("pseudo", {"max_iter": 0}, "pseudo.max_iter must be an integer >= 1"),
    ("loss", {"ctr_reduction": "avg"}, "loss.ctr_reduction must be one of mean, sum"),
    ("loss", {"ctr_after": -5}, "loss.ctr_after must be an integer >= 0"),
    ("inference", {"classes_per_proposal": 0}, "inference.classes_per_proposal must be >= 1"),
])
def test_new_settings_out_of_range_name_their_key(section, values, match):
    with pytest.raises(ValueError, match=match):
        ApnMethod(tiny_config(**{section: values}))


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="data.window"):
        ApnMethod(tiny_config(data={"window": -1}))
    with pytest.raises(ValueError, match="inference.nms"):
        ApnMethod(tiny_config(inference={"nms": "fast"}))
    with pytest.raises(ValueError, match="text.backend"):
        ApnMethod(tiny_config(text={"backend": "clip", "prompts": ["{}"]}))


def test_soft_nms_inference_and_whole_video_windows():
    method = ApnMethod(tiny_config(inference={"nms": "soft"}, data={"window": 0}))
    method.refresh_pseudo_labels()
    method.eval_items = method.eval_items[:5]
    predictions = method.predictions()
    assert len(predictions) > 0 and set(predictions.video.tolist()) <= set(range(5))
    assert max(int((predictions.video == v).sum()) for v in range(5)) <= 200


def test_input_feature_pseudo_labels_are_clustered_once():
    method = ApnMethod(tiny_config(pseudo={"features": "input"}))
    method.refresh_pseudo_labels()
    first = method.pseudo
    method.refresh_pseudo_labels()
    assert method.pseudo is first and len(first.instances) == 2998


def cosines(x: torch.Tensor) -> torch.Tensor:
    """(5, 4) cosine similarities of snippets 0-4 with snippets 5-8 of the first video of x (B, T, ·)."""
    unit = torch.nn.functional.normalize
    return unit(x[0, :5], dim=-1) @ unit(x[0, 5:9], dim=-1).T


def test_mixed_features_are_the_unit_input_and_embedded_features_side_by_side():
    # The cosine distance between such rows is the mean of the two spaces' cosine distances.
    method = ApnMethod(tiny_config())
    assert method.config.pseudo.features == "mixed"
    features, lengths = pad([item.features for item in method.train_items[:3]])
    mixed = method._clustered(features, lengths)
    embedded = method.model(features, lengths).boundary.embedded
    torch.testing.assert_close(cosines(mixed), (cosines(features) + cosines(embedded)) / 2)
    assert mixed.shape == (*features.shape[:2], features.shape[2] + embedded.shape[2])


def test_the_ema_embedding_trails_the_embedding_and_is_checkpointed():
    method = ApnMethod(tiny_config(pseudo={"features": "ema", "ema_decay": 0.5}))
    start = [p.clone() for p in method.ema_embed.parameters()]
    with torch.no_grad():
        for p in method.model.embed.parameters():
            p.add_(1.0)
    method.before_iteration(1)
    for average, before, now in zip(method.ema_embed.parameters(), start, method.model.embed.parameters()):
        torch.testing.assert_close(average, (before + now) / 2)
    again = ApnMethod(tiny_config(pseudo={"features": "ema", "ema_decay": 0.5}))
    again.load_state_dict(method.state_dict())
    for a, b in zip(again.ema_embed.parameters(), method.ema_embed.parameters()):
        assert torch.equal(a, b)


def test_ctr_warm_up_leaves_ctr_out_of_the_first_iterations():
    method = ApnMethod(tiny_config(loss={"ctr_after": 2}))
    method.before_iteration(1)
    assert "ctr" not in method.training_loss(1)[1] and "ctr" not in method.training_loss(2)[1]
    assert "ctr" in method.training_loss(3)[1]


def test_class_features_add_the_snippet_classifiers_probabilities_as_a_third_space():
    method = ApnMethod(tiny_config(model={"snippet_classifier": True}, pseudo={"features": "classes"}))
    features, lengths = pad([item.features for item in method.train_items[:3]])
    clustered = method._clustered(features, lengths)
    boundary = method.model(features, lengths).boundary
    probabilities = torch.softmax(boundary.snippet_logits, -1)
    torch.testing.assert_close(clustered.norm(dim=-1)[0, :5], torch.full((5,), 3 ** 0.5))
    torch.testing.assert_close(cosines(clustered),
                               (cosines(features) + cosines(boundary.embedded) + cosines(probabilities)) / 3)
    with pytest.raises(ValueError, match="pseudo.features=classes needs model.snippet_classifier"):
        tiny_config(pseudo={"features": "classes"})


def test_the_snippet_classifier_trains_and_scores_the_proposals():
    method = ApnMethod(tiny_config(model={"snippet_classifier": True}, pseudo={"features": "classes"},
                                   inference={"class_source": "both", "snippet_contrast": 0.25}))
    method.before_iteration(1)
    total, parts = method.training_loss(1)
    assert "snippets" in parts and float(parts["snippets"]) > 0
    total.backward()
    assert method.model.snippet_classifier.weight.grad.abs().sum() > 0
    method.eval_items = method.eval_items[:3]
    predictions = method.predictions()
    assert len(predictions) > 0 and bool((predictions.score > 0).all())
