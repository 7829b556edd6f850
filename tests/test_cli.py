"""The command line as a user meets it: one-line errors with exit status 2 (``--debug``: the traceback),
runs resumed from their checkpoint alone, a demo that runs again, infer's default outputs."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from ptal.cli import main
from ptal.data import SfnetFeatures, SyntheticBenchmark, load_annotations
from ptal.models import method_config
from ptal.train import ConfigError, config_to_dict, load_checkpoint
from tests.tiny import TINY_APN, TINY_LACP


def one_line_error(capsys, arguments: list[str]) -> str:
    """The error line of a command that must fail as a user mistake."""
    assert main(arguments) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"ptal {arguments[0]}: error: ") and lines[0].endswith("(--debug shows the traceback)")
    return lines[0]


def test_bad_yaml_names_the_file(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("model: [lacp\n")
    line = one_line_error(capsys, ["train", "--config", str(tmp_path / "bad.yaml")])
    assert "bad.yaml" in line and "not valid YAML" in line


def test_missing_config_file_is_named(tmp_path, capsys):
    line = one_line_error(capsys, ["train", "--config", str(tmp_path / "absent.yaml")])
    assert "absent.yaml" in line and "cannot read it" in line


def test_unknown_key_names_the_key_and_the_known_ones(capsys):
    line = one_line_error(capsys, ["train", "train.iteratons=3"])
    assert "'train.iteratons'" in line and "iterations" in line


def test_out_of_range_value_names_the_key(capsys):
    assert "model.dropout must be in [0, 1)" in one_line_error(capsys, ["train", "model.dropout=1.5"])


def test_debug_shows_the_traceback():
    with pytest.raises(ConfigError, match="train.iteratons"):
        main(["train", "train.iteratons=3", "--debug"])


def test_unusable_device_fails_at_once(capsys):
    if not torch.cuda.is_available():
        line = one_line_error(capsys, ["train", "--device", "cuda", *TINY_LACP])
        assert "CUDA is not available here" in line and "--device cpu" in line
    assert "ptal runs on cpu or cuda" in one_line_error(capsys, ["demo", "--device", "mps"])
    assert "not a device" in one_line_error(capsys, ["infer", "--checkpoint", "x.pt", "--device", "gpu0"])


def test_print_config_round_trips(tmp_path, capsys):
    assert main(["train", "--print-config", "model.name=apn", "model.embed_dim=64"]) == 0
    printed = capsys.readouterr().out
    (tmp_path / "apn.yaml").write_text(printed)
    assert yaml.safe_load(printed)["model"]["embed_dim"] == 64
    assert config_to_dict(method_config(str(tmp_path / "apn.yaml"), [])) == \
        config_to_dict(method_config(None, ["model.name=apn", "model.embed_dim=64"]))


def test_used_run_folder_is_refused_before_any_data_is_built(demo_run, capsys, monkeypatch):
    monkeypatch.setattr("ptal.models.base.load_dataset", lambda *a: pytest.fail("data built"))
    line = one_line_error(capsys, ["train", *TINY_LACP, f"train.out_dir={demo_run / 'lacp'}"])
    assert "already holds a run" in line and "--resume" in line


@pytest.mark.parametrize("content", [b"\x00" * 64, bytes(range(256)) * 4])
def test_corrupt_checkpoint_is_refused_before_any_data_is_built(tmp_path, capsys, monkeypatch, content):
    (tmp_path / "last.pt").write_bytes(content)
    monkeypatch.setattr("ptal.models.base.load_dataset", lambda *a: pytest.fail("data built"))
    for command in (["train", "--resume"], ["infer", "--checkpoint"], ["eval", "--checkpoint"]):
        line = one_line_error(capsys, [*command, str(tmp_path / "last.pt")])
        assert "last.pt" in line and "weights_only" not in line


def test_resume_refuses_a_conflicting_setting(demo_run, capsys, monkeypatch):
    monkeypatch.setattr("ptal.models.base.load_dataset", lambda *a: pytest.fail("data built"))
    line = one_line_error(capsys, ["train", "--resume", str(demo_run / "lacp" / "last.pt"), "model.hidden=32"])
    assert "model.hidden is 16 in the checkpoint, 32 here" in line and "train.iterations" in line


def test_a_checkpoint_value_the_data_refuses_names_the_checkpoint(demo_run, tmp_path, capsys):
    checkpoint = torch.load(demo_run / "lacp" / "last.pt", weights_only=True)
    checkpoint["config"]["inference"]["seconds_per_snippet"] = math.inf
    torch.save(checkpoint, tmp_path / "last.pt")
    for command in (["train", "--resume", str(tmp_path / "last.pt"), "train.iterations=14",
                     f"train.out_dir={tmp_path / 'run'}"], ["infer", "--checkpoint", str(tmp_path / "last.pt")]):
        line = one_line_error(capsys, command)
        assert f"checkpoint {tmp_path / 'last.pt'}: inference.seconds_per_snippet is inf" in line


def test_a_checkpoint_select_by_that_is_no_metric_names_the_checkpoint_before_training(demo_run, tmp_path, capsys,
                                                                                       monkeypatch):
    checkpoint = torch.load(demo_run / "lacp" / "last.pt", weights_only=True)
    checkpoint["config"]["train"]["select_by"] = " "
    torch.save(checkpoint, tmp_path / "last.pt")
    monkeypatch.setattr("ptal.train.loop._Run.train", lambda self: pytest.fail("trained"))
    line = one_line_error(capsys, ["train", "--resume", str(tmp_path / "last.pt"), "train.iterations=14",
                                   f"train.out_dir={tmp_path / 'run'}"])
    assert f"checkpoint {tmp_path / 'last.pt'}: train.select_by=' ' is not a metric of LacpMethod: mAP@0.1," in line
    assert "average_0.1:0.7" in line


def test_a_select_by_that_is_no_metric_is_an_error_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("ptal.train.loop._Run.train", lambda self: pytest.fail("trained"))
    line = one_line_error(capsys, ["train", "model.name=apn", *TINY_APN, "train.select_by=average_0.5:0.95",
                                   f"train.out_dir={tmp_path / 'run'}"])
    assert "train.select_by='average_0.5:0.95' is not a metric of ApnMethod: mAP@0.1" in line
    assert "pseudo/average_0.1:0.7, pseudo/mean_length" in line


def test_resuming_a_complete_run_says_how_to_go_on(demo_run, capsys, monkeypatch):
    monkeypatch.setattr("ptal.models.base.load_dataset", lambda *a: pytest.fail("data built"))
    assert main(["train", "--resume", str(demo_run / "lacp" / "last.pt")]) == 0
    assert "the run is complete (12 of train.iterations=12); give train.iterations=N" in capsys.readouterr().out


def test_infer_without_outputs_writes_the_predictions_next_to_the_checkpoint(demo_run, capsys):
    checkpoint = demo_run / "lacp" / "best.pt"
    assert main(["infer", "--checkpoint", str(checkpoint)]) == 0
    written = demo_run / "lacp" / "predictions_best.json"
    assert str(written) in capsys.readouterr().out
    assert len(json.loads(written.read_text())["results"]) == 210


def test_infer_video_without_plot_draws_next_to_the_checkpoint(demo_run, capsys):
    video = "video_test_0000004"
    assert main(["infer", "--checkpoint", str(demo_run / "lacp" / "best.pt"), "--video", video]) == 0
    picture = demo_run / "lacp" / f"timeline_{video}.png"
    assert str(picture) in capsys.readouterr().out and picture.read_bytes()[:4] == b"\x89PNG"


def test_demo_runs_again_into_a_fresh_folder_or_over_the_old_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny = ["--model", "lacp", *TINY_LACP]
    assert main(["demo", *tiny]) == 0
    assert main(["demo", *tiny]) == 0
    assert "runs/demo holds a run; this one goes to runs/demo-2" in capsys.readouterr().out
    assert (tmp_path / "runs" / "demo-2" / "lacp" / "predictions.json").exists()
    line = one_line_error(capsys, ["demo", *tiny, "--out", "runs/demo"])
    assert "--overwrite" in line
    first = (tmp_path / "runs" / "demo" / "lacp" / "log.jsonl").read_text()
    assert main(["demo", *tiny, "--out", "runs/demo", "--overwrite"]) == 0
    # The same seed on the same machine: the replaced run logged the same numbers (timings aside).
    strip = lambda text: [{k: v for k, v in json.loads(line).items() if not k.endswith("_s")} for line in text.splitlines()]  # noqa: E731
    assert strip((tmp_path / "runs" / "demo" / "lacp" / "log.jsonl").read_text()) == strip(first)


def test_the_module_entry_point_reports_user_errors_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ptal", "eval", "--gt", str(tmp_path / "gt.json"), "--pred",
                           str(tmp_path / "p.json")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "gt.json" in done.stderr


def test_the_same_seed_gives_the_same_numbers_in_another_process(tmp_path):
    """Bitwise on the same machine with the same thread count (README: what changes with the thread count)."""
    logs = []
    for run in ("first", "second"):
        subprocess.run([sys.executable, "-m", "ptal", "train", *TINY_LACP, f"train.out_dir={tmp_path / run}"],
                       check=True, capture_output=True, cwd=tmp_path)
        logs.append([{k: v for k, v in json.loads(line).items() if not k.endswith("_s")}
                     for line in (tmp_path / run / "log.jsonl").read_text().splitlines()])
    assert logs[0] == logs[1] and "metrics" in logs[0][-1]


def test_resuming_a_run_stopped_before_its_first_checkpoint_says_what_to_do(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "log.jsonl").write_text('{"iteration": 2, "loss": 1.0}\n')
    line = one_line_error(capsys, ["train", "--resume", str(tmp_path / "run" / "last.pt")])
    assert (f"--resume {tmp_path / 'run' / 'last.pt'}: no such file: the run in {tmp_path / 'run'} stopped before "
            f"its first checkpoint; start it again with the command that started it (without --resume)") in line


def test_argument_errors_are_one_line(capsys):
    assert main(["train", "--device"]) == 2
    assert capsys.readouterr().err == ("ptal train: error: argument --device: expected one argument "
                                       "(ptal train --help shows the usage)\n")
    # an argument argparse takes for an unknown option (found by the malformed-input tests): the command's error too
    assert main(["train", "--print-config", "-1e+16"]) == 2
    assert capsys.readouterr().err == ("ptal train: error: unrecognized arguments: -1e+16 "
                                       "(ptal train --help shows the usage)\n")


@pytest.fixture(scope="module")
def mini_annotations(tmp_path_factory):
    from tests.reliability.mini import write_mini_thumos14

    return write_mini_thumos14(tmp_path_factory.mktemp("mini"))


def test_a_loss_that_is_not_finite_stops_the_run_in_one_line(tmp_path, capsys, monkeypatch, mini_annotations):
    from ptal.models.lacp.method import LacpMethod
    from tests.reliability.mini import mini_overrides

    training_loss = LacpMethod.training_loss

    def diverging(self, iteration):
        loss, parts = training_loss(self, iteration)
        if iteration >= 3:
            parts = {**parts, "point": parts["point"] * torch.inf}
            loss = loss + parts["point"]
        return loss, parts

    monkeypatch.setattr(LacpMethod, "training_loss", diverging)
    run = tmp_path / "run"
    assert main(["train", *mini_overrides("lacp", mini_annotations), "train.iterations=4", "train.eval_every=2",
                 "train.log_every=2", "train.progress=false", f"train.out_dir={run}"]) == 2
    # (The mini data set's evaluations warn that most classes have no instance.)
    [line] = [line for line in capsys.readouterr().err.splitlines() if ": warning: " not in line]
    assert (f"the training loss is inf at iteration 3, in the loss term(s) point = inf; the run stops, {run / 'last.pt'} "
            f"(iteration 2) is the last good checkpoint") in line
    assert load_checkpoint(run / "last.pt")["iteration"] == 2 and not (run / "ptal.lock").exists()


def test_memory_exhausted_is_one_line(capsys, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("ptal.models.method_config", exhausted)
    line = one_line_error(capsys, ["train"])
    assert "out of memory: the data or a setting needs more memory than is free" in line


def test_print_config_shows_the_datasets_resolved_values(tmp_path, capsys):
    assert main(["train", "--print-config", "model.name=apn", "data.dataset=beoid"]) == 0
    printed = capsys.readouterr().out
    header = [line for line in printed.splitlines() if line.startswith("#")]
    assert header[0].startswith("# BEOID (data.dataset=beoid): 34 classes; splits training, validation; trains on "
                                "training, evaluates validation")
    assert "snippets of 16 frames at the video's own frame rate; mAP at tIoU 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7" \
        in header[1]
    document = yaml.safe_load(printed)
    assert document["data"]["dataset"] == "beoid" and document["data"]["eval_split"] == "validation"
    assert document["data"]["points"] == "uniform"
    (tmp_path / "beoid.yaml").write_text(printed)
    assert config_to_dict(method_config(str(tmp_path / "beoid.yaml"), [])) == \
        config_to_dict(method_config(None, ["model.name=apn", "data.dataset=beoid"]))


def test_demo_on_another_dataset(tmp_path, capsys):
    assert main(["demo", "--dataset", "gtea", "--out", str(tmp_path), *(f"lacp.{o}" for o in TINY_LACP),
                 *(f"apn.{o}" for o in TINY_APN)]) == 0
    printed = capsys.readouterr().out
    assert "LACP on the synthetic GTEA-structured benchmark" in printed and "APN on the synthetic GTEA" in printed
    assert "AVG 0.1:0.7" in printed.splitlines()[-3] and printed.splitlines()[-1].lstrip().startswith("APN")
    assert (tmp_path / "apn" / "timeline.png").is_file()
    assert "invalid choice: 'anet'" in _argparse_error(["demo", "--dataset", "anet"], capsys)


def _argparse_error(arguments, capsys) -> str:
    assert main(arguments) == 2
    return capsys.readouterr().err


def test_synth_writes_sfnets_layout_for_gtea_and_beoid(tmp_path, capsys):
    assert main(["data", "synth", "--dataset", "beoid", "--out", str(tmp_path), "--d", "6", "--split",
                 "validation"]) == 0
    assert "BEOID's twin (validation) in the sfnet layout" in capsys.readouterr().err
    annotations = load_annotations("beoid", tmp_path / "BEOID-Annotations")
    assert annotations.splits["validation"] == load_annotations("beoid").splits["validation"]
    features = SfnetFeatures(tmp_path, "BEOID")
    video = annotations.splits["validation"][0]
    np.testing.assert_array_equal(features.load(video), SyntheticBenchmark(load_annotations("beoid"), dim=6).load(video))
    assert "--split test: BEOID's splits are training, validation" in \
        one_line_error(capsys, ["data", "synth", "--dataset", "beoid", "--out", str(tmp_path), "--split", "test"])
