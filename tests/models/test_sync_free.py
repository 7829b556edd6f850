"""No hidden host synchronisation in a training step (issue 14): one LACP step and one APN step, each with its
pseudo-label refresh, after a warm-up, and the trainer's loop around them (12 iterations of ptal.train.train:
log lines, a refresh, an evaluation, checkpoints). Only the explicit points of ptal.train.explicit_sync (log
lines, evaluation, checkpoints, a refresh's data-dependent sizes) may read the device.

On a GPU (benchmarks/gpu_check.py runs it) under ``torch.cuda.set_sync_debug_mode("error")``; on the CPU under
tests/sync_check.py, which finds the operations that would synchronise on a GPU (not host-device copies)."""
import contextlib

import numpy as np
import pytest
import torch

from tests.gpu import needs_gpu
from tests.sync_check import HiddenSync, hidden_syncs_raise
from tests.tiny import TINY_APN


@contextlib.contextmanager
def synchronisations_raise():
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(0)


def run_iteration(method, optimizer, iteration: int, guard=contextlib.nullcontext) -> None:
    """What the trainer does in an iteration between two log lines, under ``guard``."""
    with guard():
        method.model.train()
        method.before_iteration(iteration)
        method.model.train()
        loss, _ = method.training_loss(iteration)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def tiny_config(family: str, overrides=()):
    from ptal.models import method_config

    tiny = ["data.feature_dim=64", "model.hidden=64"] if family == "lacp" else \
        [s for s in TINY_APN if not s.startswith("train.")]
    return method_config(None, [f"model.name={family}", *tiny, *overrides])


def steps(family: str, device: str, guard, overrides=()) -> None:
    """Warm-up (kernels compiled, memory cached): a pseudo-label refresh and two steps; then a refresh and
    two steps under ``guard``. At the test sizes (tests/tiny.py for APN)."""
    from ptal.models import build_method

    method = build_method(tiny_config(family, overrides), device)
    optimizer = torch.optim.Adam(method.model.parameters(), lr=1e-4)
    every = method.config.search.frequency if family == "lacp" else method.config.pseudo.frequency
    for iteration in (every + 1, every + 2):
        run_iteration(method, optimizer, iteration)
    for iteration in (2 * every + 1, 2 * every + 2):  # a refresh before the first of them
        run_iteration(method, optimizer, iteration, guard)


def trainer_run(family: str, device: str, out_dir, monkeypatch=None, guard=None) -> dict:
    """``ptal.train.train`` for 12 iterations (a refresh inside, log lines every 5, an evaluation and the
    checkpoints at the end), its loop under ``guard`` (given with ``monkeypatch``)."""
    from ptal.models import build_method
    from ptal.train import loop, train

    if guard is not None:
        unguarded = loop._Run.train

        def guarded(run):
            with guard():
                unguarded(run)
        monkeypatch.setattr(loop._Run, "train", guarded)
    config = tiny_config(family, ["train.iterations=12", "train.log_every=5", "train.eval_every=12",
                                  "train.progress=false", f"train.out_dir={out_dir}"])
    return train(build_method(config, device), config.train)


def test_lacp_step_and_search_would_not_synchronise():
    steps("lacp", "cpu", hidden_syncs_raise)


@pytest.mark.parametrize("features", ["mixed", "ema"])
def test_apn_step_and_refresh_would_not_synchronise(features):
    steps("apn", "cpu", hidden_syncs_raise, [f"pseudo.features={features}"])


@pytest.mark.parametrize("family", ["lacp", "apn"])
def test_the_trainer_would_not_synchronise_between_log_lines(family, tmp_path, monkeypatch):
    summary = trainer_run(family, "cpu", tmp_path / "run", monkeypatch, hidden_syncs_raise)
    assert summary["final_iteration"] == 12


def test_the_cpu_check_finds_hidden_synchronisations():
    x = torch.arange(6.0)
    repeats, segments, scores = torch.tensor([1, 0, 2, 1, 1, 1]), torch.tensor([[0.0, 1.0]]), torch.ones(1)
    for read in (lambda: float(x.sum()), lambda: x[x > 2], lambda: torch.nonzero(x), lambda: torch.unique(x),
                 lambda: x.repeat_interleave(repeats), lambda: torch.tensor(2.0), lambda: torch.tensor([1, 2]),
                 lambda: x[[0, 2]], lambda: torch.from_numpy(np.ones(2))):
        with pytest.raises(HiddenSync), hidden_syncs_raise():
            read()
    from ptal.ops.internal import temporal_nms
    with pytest.raises(HiddenSync, match="temporal_nms"), hidden_syncs_raise():
        temporal_nms(segments, scores, 0.5)
    from ptal.train import explicit_sync
    with hidden_syncs_raise():
        with explicit_sync():
            assert float(x.sum()) == 15 and x[x > 4].tolist() == [5.0] and torch.tensor(1).item() == 1
        x.repeat_interleave(repeats, output_size=6)  # the size is known: no read
        x[1:3] = 7  # a Python number assigned through an index: made on the device, no copy
    assert x.tolist() == [0.0, 7.0, 7.0, 3.0, 4.0, 5.0]


@needs_gpu()
def test_lacp_step_and_search_read_nothing_from_the_gpu():
    steps("lacp", "cuda", synchronisations_raise)
    torch.cuda.synchronize()


@needs_gpu()
def test_apn_step_and_refresh_read_nothing_from_the_gpu():
    steps("apn", "cuda", synchronisations_raise)
    torch.cuda.synchronize()


@needs_gpu()
@pytest.mark.parametrize("family", ["lacp", "apn"])
def test_the_trainer_reads_nothing_from_the_gpu_between_log_lines(family, tmp_path, monkeypatch):
    trainer_run(family, "cuda", tmp_path / "warm-up")
    summary = trainer_run(family, "cuda", tmp_path / "run", monkeypatch, synchronisations_raise)
    torch.cuda.synchronize()
    assert summary["final_iteration"] == 12
