"""Which backends of an op can run here, as pytest parameters (the others are skipped with the reason)."""
import importlib

import pytest
import torch

from ptal_core.backends import why_unavailable

FAST_BACKENDS = ("cpu", "cuda", "triton")
# The "cuda" backend's kernels and glue on CPU tensors, run by the CPU harness (tests/cuda_on_cpu): tests of this
# pseudo-backend are marked cuda_on_cpu (run by `pytest -m cuda_on_cpu`) and call the op with backend="cuda".
CUDA_ON_CPU = "cuda_on_cpu"


def table(op: str):
    """The op's backend table (``BACKENDS`` of ``ptal/ops/<op>.py``)."""
    return importlib.import_module(f"ptal.ops.{op}").BACKENDS


def device_of(backend: str) -> torch.device:
    return torch.device("cuda" if backend == "cuda" or (backend == "triton" and torch.cuda.is_available()) else "cpu")


def op_backend(backend: str) -> str:
    """The op's ``backend=`` for a test's backend parameter."""
    return "cuda" if backend == CUDA_ON_CPU else backend


def runs_cuda_kernels(backend: str) -> bool:
    """Whether the backend parameter runs the CUDA kernels (on a GPU, or on the CPU harness)."""
    return op_backend(backend) == "cuda"


def fast_backends(op: str):
    """pytest params over the op's fast backends, and the CPU harness of its CUDA kernels; unavailable
    backends are skipped, not hidden."""
    params = []
    for backend in FAST_BACKENDS:
        if backend not in table(op).names:
            continue
        reason = why_unavailable(backend, device_of(backend))
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(backend, marks=marks, id=backend))
    if "cuda" in table(op).names:
        params.append(pytest.param(CUDA_ON_CPU, marks=[pytest.mark.cuda_on_cpu], id=CUDA_ON_CPU))
    return params
