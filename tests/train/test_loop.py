import math
import shutil

import pytest
import torch

from ptal.train import TIMING_FIELDS, CheckpointError, Method, load_checkpoint, read_run_log, train
from tests.train.toy import make_toy, settings_for
from tests.gpu import needs_gpu


def without_timing(records):
    return [{key: value for key, value in record.items() if key not in TIMING_FIELDS} for record in records]


def checkpoint_without_timing_and_place(path):
    checkpoint = load_checkpoint(path)
    del checkpoint["trainer"]["elapsed_s"], checkpoint["config"]["train"]["out_dir"]
    return checkpoint


def assert_same_data(a, b):
    """Equal nested dicts/lists of tensors and plain values, tensors bit for bit."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_data(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_data(x, y)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("resume_elsewhere", [False, True], ids=["same-out-dir", "new-out-dir"])
def test_an_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, resume_elsewhere):
    uninterrupted = make_toy()
    expected_summary = train(uninterrupted, settings_for(tmp_path / "a"))

    # Crashes at iteration 11: last.pt is at 8, the log already has the line of iteration 10.
    crashed_dir = tmp_path / "b"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(make_toy(crash_at=11), settings_for(crashed_dir))
    assert [record["iteration"] for record in read_run_log(crashed_dir / "log.jsonl")] == [2, 4, 6, 8, 10]
    with open(crashed_dir / "log.jsonl", "a") as log:
        log.write('{"iteration": 11, "lo')  # as if the crash had cut a line short
    resumed_dir = tmp_path / "c" if resume_elsewhere else crashed_dir
    resumed = make_toy()
    summary = train(resumed, settings_for(resumed_dir), resume=str(crashed_dir / "last.pt"))

    assert_same_data(resumed.model.state_dict(), uninterrupted.model.state_dict())
    assert_same_data(resumed.state_dict(), uninterrupted.state_dict())
    assert without_timing(read_run_log(resumed_dir / "log.jsonl")) == without_timing(read_run_log(tmp_path / "a" / "log.jsonl"))
    for name in ("last.pt", "best.pt"):
        assert_same_data(checkpoint_without_timing_and_place(resumed_dir / name),
                         checkpoint_without_timing_and_place(tmp_path / "a" / name))
    assert {k: v for k, v in summary.items() if not k.endswith(("checkpoint", "log"))} == \
        {k: v for k, v in expected_summary.items() if not k.endswith(("checkpoint", "log"))}

    # Resuming a finished run trains no more and reports the same.
    again = train(make_toy(), settings_for(resumed_dir), resume=str(resumed_dir / "last.pt"))
    assert again == summary
    assert len(read_run_log(resumed_dir / "log.jsonl")) == 6


def test_a_resumed_run_can_be_extended(tmp_path):
    train(make_toy(), settings_for(tmp_path, iterations=8))
    summary = train(make_toy(), settings_for(tmp_path, iterations=10), resume=str(tmp_path / "last.pt"))
    assert summary["final_iteration"] == 10
    assert [record["iteration"] for record in read_run_log(tmp_path / "log.jsonl")] == [2, 4, 6, 8, 10]
    with pytest.raises(ValueError, match="past train.iterations=6"):
        train(make_toy(), settings_for(tmp_path, iterations=6), resume=str(tmp_path / "last.pt"))


def test_a_checkpoint_whose_optimizer_names_other_parameters_is_refused(tmp_path):
    """Adam's state is matched to the parameters by the param_groups' indices: [0, 0, 2, 3] would give parameter 0's
    moments to parameter 1 (a shape error at the first step; a silent mix-up where shapes agree)."""
    train(make_toy(), settings_for(tmp_path, iterations=4))
    checkpoint = torch.load(tmp_path / "last.pt", weights_only=True)
    assert checkpoint["optimizer"]["param_groups"][0]["params"] == [0, 1, 2, 3]
    checkpoint["optimizer"]["param_groups"][0]["params"] = [0, 0, 2, 3]
    torch.save(checkpoint, tmp_path / "changed.pt")
    with pytest.raises(CheckpointError, match=r"changed.pt: optimizer/param_groups/0/params is \[0, 0, 2, 3\], not this "
                                              r"model's parameter indices \[0, 1, 2, 3\]"):
        train(make_toy(), settings_for(tmp_path, iterations=6), resume=str(tmp_path / "changed.pt"))


def test_a_checkpoint_best_value_must_be_a_finite_float(tmp_path):
    train(make_toy(), settings_for(tmp_path, iterations=4))
    checkpoint = torch.load(tmp_path / "last.pt", weights_only=True)
    checkpoint["trainer"]["best_value"] = 10**59  # no float holds it exactly; the trainer writes floats
    torch.save(checkpoint, tmp_path / "changed.pt")
    with pytest.raises(CheckpointError, match=r"changed.pt: trainer/best_value is 1000000000"):
        train(make_toy(), settings_for(tmp_path, iterations=6), resume=str(tmp_path / "changed.pt"))


class RecordingToy:
    """Wraps the toy to remember the loss of every iteration."""

    def __new__(cls, **options):
        method = make_toy(**options)
        original = method.training_loss
        method.losses = []

        def training_loss(iteration):
            loss, parts = original(iteration)
            method.losses.append(float(loss.detach()))
            return loss, parts

        method.training_loss = training_loss
        return method


def test_log_lines(tmp_path):
    method = RecordingToy()
    train(method, settings_for(tmp_path, iterations=9, eval_every=4, log_every=3))
    records = read_run_log(tmp_path / "log.jsonl")
    assert [record["iteration"] for record in records] == [3, 4, 6, 8, 9]
    windows = [(0, 3), (3, 4), (4, 6), (6, 8), (8, 9)]
    for record, (start, end) in zip(records, windows):
        assert record["loss"] == pytest.approx(sum(method.losses[start:end]) / (end - start), rel=1e-12)
        assert set(record["losses"]) == {"mse", "completeness"}
        assert record["losses"]["mse"] == pytest.approx(record["loss"], rel=1e-12)
        assert record["iterations_per_s"] > 0 and record["elapsed_s"] > 0
    evaluated = [record for record in records if "metrics" in record]
    assert [record["iteration"] for record in evaluated] == [4, 8, 9]  # every eval_every, and the last
    for record in evaluated:
        assert set(record["metrics"]) == {"score", "mse"} and record["eval_s"] >= 0
        assert record["best"]["metric"] == "score"
    assert all("metrics" not in record and "eval_s" not in record for record in records if record not in evaluated)
    assert method.evaluation_modes == [(False, False)] * 3  # under no_grad, in eval mode
    assert method.model.training  # as it was before the evaluations


@pytest.mark.parametrize("scores, best_iteration", [
    ({4: 0.5, 8: 0.7, 12: 0.6}, 8),
    ({4: 0.5, 8: 0.7, 12: 0.7}, 8),  # equal values: the first is kept
    ({4: math.nan, 8: 0.2, 12: 0.1}, 8),  # NaN never counts as best
    ({4: 0.9, 8: 0.7, 12: 0.8}, 4),
])
def test_best_and_last_checkpoints(tmp_path, scores, best_iteration):
    summary = train(make_toy(scores=scores), settings_for(tmp_path))
    assert summary["best_iteration"] == best_iteration and summary["best_value"] == scores[best_iteration]
    assert summary["final_iteration"] == 12 and summary["final_metrics"]["score"] == scores[12]
    assert load_checkpoint(tmp_path / "best.pt")["iteration"] == best_iteration
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["iteration"] == 12
    assert last["trainer"]["best_iteration"] == best_iteration
    evaluated = [record for record in read_run_log(tmp_path / "log.jsonl") if "metrics" in record]
    for record in evaluated:
        value = scores[record["iteration"]]
        assert record["metrics"]["score"] == (None if math.isnan(value) else value)
    assert evaluated[-1]["best"] == {"metric": "score", "value": scores[best_iteration], "iteration": best_iteration}


def test_no_finite_metric_means_no_best(tmp_path):
    summary = train(make_toy(scores={4: math.nan}), settings_for(tmp_path, iterations=4))
    assert summary["best_iteration"] is None and summary["best_checkpoint"] is None
    assert not (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()


def test_a_fresh_run_refuses_an_out_dir_holding_a_run(tmp_path):
    train(make_toy(), settings_for(tmp_path, iterations=4))
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(make_toy(), settings_for(tmp_path, iterations=4))
    (tmp_path / "other").mkdir()
    shutil.copy(tmp_path / "last.pt", tmp_path / "other" / "last.pt")
    with pytest.raises(FileExistsError, match="already holds a run"):  # resuming into another run's folder
        train(make_toy(), settings_for(tmp_path / "other", iterations=8), resume=str(tmp_path / "last.pt"))


def test_a_run_stopped_before_its_first_checkpoint_starts_again(tmp_path):
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(make_toy(crash_at=3), settings_for(tmp_path / "run"))  # the log has iteration 2, no last.pt
    assert [record["iteration"] for record in read_run_log(tmp_path / "run" / "log.jsonl")] == [2]
    (tmp_path / "run" / ".last.pt.0123456789ab.tmp").write_bytes(b"half a checkpoint")
    with pytest.warns(UserWarning) as caught:
        restarted = make_toy()
        train(restarted, settings_for(tmp_path / "run"))
    assert [str(warning.message).split(": ", 1)[1] for warning in caught] == [
        "removed 1 temporary file(s) of an interrupted write (.last.pt.0123456789ab.tmp)",
        "the run there stopped before its first checkpoint (no last.pt); starting it again"]
    uninterrupted = make_toy()
    train(uninterrupted, settings_for(tmp_path / "uninterrupted"))
    assert_same_data(restarted.model.state_dict(), uninterrupted.model.state_dict())
    assert without_timing(read_run_log(tmp_path / "run" / "log.jsonl")) == \
        without_timing(read_run_log(tmp_path / "uninterrupted" / "log.jsonl"))
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["best.pt", "last.pt", "log.jsonl"]


def test_a_crash_between_last_and_best_is_repaired_on_resume(tmp_path, monkeypatch):
    """last.pt is saved first, best.pt is its copy: a crash in between leaves a last.pt that knows it is
    the best, and resuming from it writes best.pt."""
    import ptal.train.loop

    copies = []

    def crash_on_the_second_copy(source, destination):
        copies.append(destination)
        if len(copies) == 2:
            raise RuntimeError("simulated crash")
        ptal.data.atomic.copy_file_atomic(source, destination)

    monkeypatch.setattr(ptal.train.loop, "copy_file_atomic", crash_on_the_second_copy)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(make_toy(scores={4: 0.1, 8: 0.2, 12: 0.3}), settings_for(tmp_path))
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 8 and load_checkpoint(tmp_path / "best.pt")["iteration"] == 4
    monkeypatch.undo()
    train(make_toy(scores={4: 0.1, 8: 0.2, 12: 0.3}), settings_for(tmp_path, iterations=8), resume=str(tmp_path / "last.pt"))
    assert load_checkpoint(tmp_path / "best.pt")["iteration"] == 8


def test_select_by_must_be_a_metric(tmp_path):
    with pytest.raises(ValueError, match="'mAP' is not among the metrics of ToyMethod.evaluate\\(\\): score, mse"):
        train(make_toy(), settings_for(tmp_path, select_by="mAP"))


def test_a_non_finite_loss_stops_the_run(tmp_path):
    method = make_toy()
    method.targets[:] = math.nan
    with pytest.raises(FloatingPointError, match="training loss is nan at iteration 1, in the loss term.s. mse = nan; "
                                                 "the run stops, before its first checkpoint"):
        train(method, settings_for(tmp_path))


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_non_finite_loss_term_is_named_and_last_pt_stays_the_last_good_one(tmp_path, value):
    method = make_toy()
    original = method.training_loss

    def training_loss(iteration):
        loss, parts = original(iteration)
        if iteration == 7:  # after the checkpoint of iteration 4, within the log window of iterations 7-8
            parts["completeness"] = torch.tensor(value, dtype=torch.float64)
            loss = loss + parts["completeness"]
        return loss, parts

    method.training_loss = training_loss
    with pytest.raises(FloatingPointError, match=f"loss is {value} at iteration 7, in the loss term.s. completeness = "
                                                 f"{value}; the run stops, .*last.pt .iteration 4. is the last good"):
        train(method, settings_for(tmp_path))
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 4
    assert [record["iteration"] for record in read_run_log(tmp_path / "log.jsonl")] == [2, 4, 6]


def test_non_finite_weights_under_a_finite_loss_are_never_saved(tmp_path):
    method = make_toy()
    original = method.training_loss

    def training_loss(iteration):
        loss, parts = original(iteration)
        if iteration == 8:  # a finite loss with an infinite gradient
            loss = loss + 0 * torch.sqrt(next(method.model.parameters()).abs().sum() * 0)
        return loss, parts

    method.training_loss = training_loss
    with pytest.raises(FloatingPointError, match="weights are not finite at iteration 8 .*iteration 4. is the last good"):
        train(method, settings_for(tmp_path))
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 4


def test_amp_needs_cuda(tmp_path):
    with pytest.raises(ValueError, match="amp=true needs CUDA"):
        train(make_toy(), settings_for(tmp_path, amp=True))


def test_only_methods_are_trained(tmp_path):
    class NotAMethod:
        model = torch.nn.Linear(1, 1)

        def training_loss(self, iteration):
            raise AssertionError

    with pytest.raises(TypeError, match="NotAMethod is not a ptal.train.Method: subclass it"):
        train(NotAMethod(), settings_for(tmp_path))

    class Incomplete(Method):
        model = torch.nn.Linear(1, 1)

        def training_loss(self, iteration):
            raise AssertionError

    with pytest.raises(TypeError, match="abstract method"):
        Incomplete()


def test_progress_bar_on_stderr(tmp_path, capsys):
    train(make_toy(), settings_for(tmp_path, iterations=4, progress=True))
    assert "train: 100%" in capsys.readouterr().err


@needs_gpu()
def test_amp_on_cuda_trains_and_resumes(tmp_path):
    method = make_toy(device="cuda", dtype=torch.float32)
    summary = train(method, settings_for(tmp_path / "a", amp=True))
    assert math.isfinite(summary["final_metrics"]["mse"])
    last = load_checkpoint(tmp_path / "a" / "last.pt")
    assert last["trainer"]["grad_scaler"]["scale"] > 0
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(make_toy(device="cuda", dtype=torch.float32, crash_at=7), settings_for(tmp_path / "b", amp=True))
    resumed = make_toy(device="cuda", dtype=torch.float32)
    train(resumed, settings_for(tmp_path / "b", amp=True), resume=str(tmp_path / "b" / "last.pt"))
    assert_same_data(resumed.model.state_dict(), method.model.state_dict())


def test_the_log_reader_skips_only_a_partial_last_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"iteration": 1}\n{"iteration": 2}\n{"itera')
    assert read_run_log(path) == [{"iteration": 1}, {"iteration": 2}]
    path.write_text('{"iteration": 1}\n{"itera\n{"iteration": 3}\n')
    with pytest.raises(ValueError, match="line 2: not JSON"):
        read_run_log(path)
