import os

import pytest
import torch
from hypothesis import HealthCheck, settings


# Triton kernels run on the CPU through Triton's interpreter when there is no GPU. It must be chosen
# before Triton is imported.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

GPU_BACKENDS = ("cuda", "triton")

# No test depends on the machine's speed: Hypothesis neither times examples out (its default deadline is
# 200 ms an example) nor fails a test whose data generation is slow (the too_slow health check). Settings a
# test gives (max_examples, ...) apply over these.
settings.register_profile("ptal", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ptal")


@pytest.fixture(autouse=True)
def twin_cache(tmp_path_factory, monkeypatch):
    """The large twins' feature cache (ActivityNet's) in the session's temporary folder, not ~/.cache/ptal."""
    monkeypatch.setenv("PTAL_CACHE", str(tmp_path_factory.getbasetemp() / "ptal-cache"))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: runs on a GPU when there is one (a CUDA or Triton backend, or a "
                                       "GPU-only check); benchmarks/gpu_check.py runs these")
    config.addinivalue_line("markers", "cuda_on_cpu: runs the CUDA kernels and glue on the CPU harness "
                                       "(tests/cuda_on_cpu); not in the default run: `pytest -m cuda_on_cpu`")


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") in GPU_BACKENDS:
            item.add_marker("gpu")


@pytest.fixture(scope="session")
def cuda_on_cpu_module():
    """The CPU harness's module of the CUDA kernels (built, or brought up to date, on first use)."""
    from tests.cuda_on_cpu.harness import build, load

    return load(build("plain")["plain"])


@pytest.fixture(autouse=True)
def _cuda_on_cpu(request):
    """In a test marked cuda_on_cpu, backend="cuda" runs the CUDA glue and kernels on CPU tensors."""
    if request.node.get_closest_marker("cuda_on_cpu") is None:
        yield
        return
    from tests.cuda_on_cpu.harness import emulating

    with emulating(request.getfixturevalue("cuda_on_cpu_module")):
        yield


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The run folder of ``ptal demo`` of both models (the default) on tiny settings."""
    from ptal.cli import main
    from tests.tiny import TINY_APN, TINY_LACP

    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--out", str(out), *(f"lacp.{o}" for o in TINY_LACP), *(f"apn.{o}" for o in TINY_APN)]) == 0
    return out
