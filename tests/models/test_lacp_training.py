import json
from pathlib import Path

import pytest
import torch

from ptal.cli import main
from ptal.models import method_config
from ptal.models.lacp import LacpConfig, LacpMethod
from ptal.train import config_to_dict, load_checkpoint

from tests.tiny import TINY_LACP as TINY

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "lacp_thumos14.yaml"


def test_the_shipped_config_is_the_defaults():
    assert config_to_dict(method_config(str(CONFIG), [])) == config_to_dict(LacpConfig())


def tiny_config(**changes) -> LacpConfig:
    config = method_config(None, ["data.feature_dim=8", "model.hidden=16"])
    for key, value in changes.items():
        setattr(config, key, value)
    return config


@pytest.fixture
def lacp_run(demo_run):
    return demo_run / "lacp"


def test_demo_trains_evaluates_and_draws(lacp_run):
    for name in ("best.pt", "last.pt", "log.jsonl", "predictions.json", "timeline.png"):
        assert (lacp_run / name).stat().st_size > 0, name
    log = [json.loads(line) for line in (lacp_run / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iteration"] == 12 and "average_0.1:0.7" in log[-1]["metrics"]
    assert "sequence_score" in log[-1]["losses"]  # the search ran (after the 10th step)
    predictions = json.loads((lacp_run / "predictions.json").read_text())["results"]
    assert len(predictions) == 210


def test_checkpoints_load_with_weights_only_and_restore_the_method(lacp_run):
    checkpoint = load_checkpoint(lacp_run / "last.pt")
    assert checkpoint["iteration"] == 12 and checkpoint["config"]["model"]["hidden"] == 16
    assert len(checkpoint["method"]["pseudo_labels"]) == 200


def test_infer_writes_predictions_and_a_timeline(lacp_run, tmp_path):
    video = "video_validation_0000051"  # a training video: its pseudo labels are drawn too
    assert main(["infer", "--checkpoint", str(lacp_run / "best.pt"), "--video", video, "--plot",
                 str(tmp_path / "t.png"), "--out", str(tmp_path / "p.json")]) == 0
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "p.json").read_text())["results"]


def test_search_schedule_follows_the_release():
    config = tiny_config()
    method = LacpMethod(config)
    searched = []
    method.search = lambda: searched.append(True)
    for iteration in range(1, 32):
        method.before_iteration(iteration)
        if searched:
            searched.clear()
            assert (iteration - 1) % 10 == 0 and iteration > 1  # after the 10th, 20th, 30th step
    config.loss.score = config.loss.feature = 0.0
    baseline = LacpMethod(config)
    baseline.search = lambda: pytest.fail("no search without a completeness loss")
    baseline.before_iteration(11)


def test_unknown_config_key_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="train.iteratons"):
        main(["--debug", "train", "--config", str(CONFIG), "train.iteratons=3", *TINY])


def test_resumed_lacp_run_equals_an_uninterrupted_one(tmp_path):
    """Stop after 11 iterations (one search done), resume to 14 from the checkpoint alone (only the new
    length given): the same weights and pseudo labels as 14 uninterrupted iterations."""
    tiny = ["data.feature_dim=8", "model.hidden=16", "train.progress=false", "inference.batch_videos=64"]
    assert main(["train", *tiny, "train.iterations=14", "train.eval_every=11", f"train.out_dir={tmp_path / 'whole'}"]) == 0
    assert main(["train", *tiny, "train.iterations=11", "train.eval_every=11", f"train.out_dir={tmp_path / 'cut'}"]) == 0
    assert main(["train", "train.iterations=14", "--resume", str(tmp_path / "cut" / "last.pt")]) == 0
    whole, resumed = (load_checkpoint(tmp_path / run / "last.pt") for run in ("whole", "cut"))
    assert whole["iteration"] == resumed["iteration"] == 14
    for name, value in whole["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    assert all(torch.equal(a, b) for a, b in zip(whole["method"]["pseudo_labels"], resumed["method"]["pseudo_labels"]))


@pytest.mark.parametrize("official", [False, True])
def test_segments_kept_from_the_search_give_the_losses_of_the_pseudo_labels(official):
    """Training steps take the pseudo segments kept at the search (no device read per step): the same losses as
    computing them from the batch's pseudo labels."""
    from ptal.models.lacp.losses import lacp_losses

    config = tiny_config(official=official)
    torch.manual_seed(0)
    method = LacpMethod(config)
    method.search()
    videos = [3, 150, 7, 42, 3, 199]
    batch = method._training_batch(videos)
    method.model.eval()
    out = method.model(batch["features"], batch["lengths"], batch["video_labels"])
    pseudo = torch.nn.utils.rnn.pad_sequence([method.pseudo_labels[v] for v in videos], batch_first=True)
    uniform = torch.rand(len(videos), len(method.class_names), pseudo.shape[1], 3)
    args = (out, batch["video_labels"], batch["points"], batch["lengths"])
    _, expected = lacp_losses(*args, pseudo, uniform, official=official)
    _, kept = lacp_losses(*args, method._batch_segments(videos), uniform, official=official)
    assert expected["score"] > 0 and expected["feature"] > 0
    assert {name: value.item() for name, value in kept.items()} == {name: value.item() for name, value in expected.items()}


def test_evaluation_shows_its_progress(capsys):
    method = LacpMethod(method_config(None, ["data.feature_dim=8", "model.hidden=16", "inference.batch_videos=8"]))
    method.eval_items = method.eval_items[:40]
    method.predictions()
    assert "evaluate" in capsys.readouterr().err and method.model.training  # back in train mode
    method.config.train.progress = False
    method.predictions()
    assert "evaluate" not in capsys.readouterr().err


def test_an_interrupted_run_continues_with_only_resume(tmp_path, monkeypatch):
    """A run killed at iteration 9 (checkpoint at 6) continues with nothing but ``--resume`` to the same end
    as an uninterrupted one."""
    run = ["train", "data.feature_dim=8", "model.hidden=16", "train.progress=false", "train.iterations=12",
           "train.eval_every=6", "search.frequency=4"]
    assert main([*run, f"train.out_dir={tmp_path / 'whole'}"]) == 0
    original = LacpMethod.training_loss

    def crash_at_nine(self, iteration):
        if iteration == 9:
            raise KeyboardInterrupt
        return original(self, iteration)

    monkeypatch.setattr(LacpMethod, "training_loss", crash_at_nine)
    assert main([*run, f"train.out_dir={tmp_path / 'cut'}"]) == 130  # interrupted
    monkeypatch.setattr(LacpMethod, "training_loss", original)
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["iteration"] == 6
    assert main(["train", "--resume", str(tmp_path / "cut" / "last.pt")]) == 0
    whole, resumed = (load_checkpoint(tmp_path / name / "last.pt") for name in ("whole", "cut"))
    assert resumed["iteration"] == 12
    assert all(torch.equal(value, resumed["model"][name]) for name, value in whole["model"].items())
