"""Which backends to benchmark here: the reference and every fast backend that can run."""
import pytest
import torch

from ptal_core.backends import why_unavailable
from tests.ops.backends import table


def device_for(backend: str) -> torch.device:
    return torch.device("cuda" if backend in ("cuda", "triton") else "cpu")


def runnable(op: str):
    params = []
    for backend in ("reference", "cpu", "cuda", "triton"):
        if backend not in table(op).names:
            continue
        reason = why_unavailable(backend, device_for(backend))
        params.append(pytest.param(backend, marks=[pytest.mark.skip(reason=reason)] if reason else []))
    return params


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(benchmark, backend: str, fn):
    """Run ``fn`` under ``benchmark``: the reference once (it is slow), fast backends calibrated."""
    if backend == "reference":
        return benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    return benchmark(fn)
