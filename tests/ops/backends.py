"""Which backends of an op can run here, as pytest parameters (the others are skipped with the reason)."""
import importlib

import pytest
import torch

from ptal_core.backends import why_unavailable

FAST_BACKENDS = ("cpu", "cuda", "triton")


def table(op: str):
    """The op's backend table (``BACKENDS`` of ``ptal/ops/<op>.py``)."""
    return importlib.import_module(f"ptal.ops.{op}").BACKENDS


def device_of(backend: str) -> torch.device:
    return torch.device("cuda" if backend == "cuda" or (backend == "triton" and torch.cuda.is_available()) else "cpu")


def fast_backends(op: str):
    """pytest params over the op's fast backends; unavailable ones are skipped, not hidden."""
    params = []
    for backend in FAST_BACKENDS:
        if backend not in table(op).names:
            continue
        reason = why_unavailable(backend, device_of(backend))
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(backend, marks=marks, id=backend))
    return params
