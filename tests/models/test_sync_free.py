"""No hidden host synchronisation in a training step (issue 14): one LACP step and one APN step, each with its
pseudo-label refresh, run under torch.cuda.set_sync_debug_mode("error") after a warm-up step. Only the
explicit points of ptal.train.explicit_sync (log lines, evaluation, checkpoints, a refresh's data-dependent
sizes) may read the device. On a GPU only (benchmarks/gpu_check.py runs it)."""
import contextlib

import torch

from tests.gpu import needs_gpu
from tests.tiny import TINY_APN


@contextlib.contextmanager
def synchronisations_raise():
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(0)


def run_iteration(method, optimizer, iteration: int) -> None:
    """What the trainer does in an iteration between two log lines."""
    method.model.train()
    method.before_iteration(iteration)
    method.model.train()
    loss, _ = method.training_loss(iteration)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@needs_gpu()
def test_lacp_step_and_search_read_nothing_from_the_gpu():
    from ptal.models import method_config
    from ptal.models.lacp import LacpMethod

    config = method_config(None, ["data.feature_dim=64", "model.hidden=64"])
    torch.manual_seed(0)
    method = LacpMethod(config, "cuda")
    optimizer = torch.optim.Adam(method.model.parameters(), lr=1e-4)
    for iteration in (11, 12):  # warm-up: a search and two steps (kernels compiled, memory cached)
        run_iteration(method, optimizer, iteration)
    with synchronisations_raise():
        for iteration in (21, 22):  # a search before iteration 21
            run_iteration(method, optimizer, iteration)
    torch.cuda.synchronize()


@needs_gpu()
def test_apn_step_and_refresh_read_nothing_from_the_gpu():
    from ptal.models import method_config
    from ptal.models.apn import ApnMethod

    config = method_config(None, ["model.name=apn", *(s for s in TINY_APN if not s.startswith("train."))])
    torch.manual_seed(0)
    method = ApnMethod(config, "cuda")
    optimizer = torch.optim.Adam(method.model.parameters(), lr=1e-4)
    every = config.pseudo.frequency
    for iteration in (every + 1, every + 2):  # warm-up: a refresh and two steps
        run_iteration(method, optimizer, iteration)
    with synchronisations_raise():
        for iteration in (2 * every + 1, 2 * every + 2):  # a refresh before the first of them
            run_iteration(method, optimizer, iteration)
    torch.cuda.synchronize()
