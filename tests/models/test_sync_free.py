"""No hidden host synchronisation in a training step (issue 14): one LACP step and one APN step, each with its
pseudo-label refresh, after a warm-up. Only the explicit points of ptal.train.explicit_sync (log lines,
evaluation, checkpoints, a refresh's data-dependent sizes) may read the device.

On a GPU (benchmarks/gpu_check.py runs it) under ``torch.cuda.set_sync_debug_mode("error")``; on the CPU under
tests/sync_check.py, which finds the operations that would synchronise on a GPU (not host-device copies)."""
import contextlib

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


def run_iteration(method, optimizer, iteration: int, guard=contextlib.nullcontext, guard_step=True) -> None:
    """What the trainer does in an iteration between two log lines, under ``guard`` (the optimizer's step
    outside it unless ``guard_step``: Adam keeps its step count in a host tensor, which it reads)."""
    with guard():
        method.model.train()
        method.before_iteration(iteration)
        method.model.train()
        loss, _ = method.training_loss(iteration)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if guard_step:
            optimizer.step()
    if not guard_step:
        optimizer.step()


def steps(family: str, device: str, guard, overrides=()) -> None:
    """Warm-up (kernels compiled, memory cached): a pseudo-label refresh and two steps; then a refresh and
    two steps under ``guard``. At the test sizes (tests/tiny.py for APN)."""
    from ptal.models import build_method, method_config

    tiny = ["data.feature_dim=64", "model.hidden=64"] if family == "lacp" else \
        [s for s in TINY_APN if not s.startswith("train.")]
    method = build_method(method_config(None, [f"model.name={family}", *tiny, *overrides]), device)
    optimizer = torch.optim.Adam(method.model.parameters(), lr=1e-4)
    every = method.config.search.frequency if family == "lacp" else method.config.pseudo.frequency
    for iteration in (every + 1, every + 2):
        run_iteration(method, optimizer, iteration)
    for iteration in (2 * every + 1, 2 * every + 2):  # a refresh before the first of them
        run_iteration(method, optimizer, iteration, guard, guard_step=device != "cpu")


def test_lacp_step_and_search_would_not_synchronise():
    steps("lacp", "cpu", hidden_syncs_raise)


@pytest.mark.parametrize("features", ["mixed", "ema"])
def test_apn_step_and_refresh_would_not_synchronise(features):
    steps("apn", "cpu", hidden_syncs_raise, [f"pseudo.features={features}"])


def test_the_cpu_check_finds_hidden_synchronisations():
    x = torch.arange(6.0)
    for read in (lambda: float(x.sum()), lambda: x[x > 2], lambda: torch.nonzero(x), lambda: torch.unique(x),
                 lambda: x.repeat_interleave(torch.tensor([1, 0, 2, 1, 1, 1]))):
        with pytest.raises(HiddenSync), hidden_syncs_raise():
            read()
    from ptal.ops.internal import temporal_nms
    with pytest.raises(HiddenSync, match="temporal_nms"), hidden_syncs_raise():
        temporal_nms(torch.tensor([[0.0, 1.0]]), torch.ones(1), 0.5)
    from ptal.train import explicit_sync
    with hidden_syncs_raise():
        with explicit_sync():
            assert float(x.sum()) == 15 and x[x > 4].tolist() == [5.0]
        x.repeat_interleave(torch.tensor([1, 0, 2, 1, 1, 1]), output_size=6)  # the size is known: no read


@needs_gpu()
def test_lacp_step_and_search_read_nothing_from_the_gpu():
    steps("lacp", "cuda", synchronisations_raise)
    torch.cuda.synchronize()


@needs_gpu()
def test_apn_step_and_refresh_read_nothing_from_the_gpu():
    steps("apn", "cuda", synchronisations_raise)
    torch.cuda.synchronize()
