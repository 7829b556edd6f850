import os

import pytest
import torch

# Triton kernels run on the CPU through Triton's interpreter when there is no GPU. It must be chosen
# before Triton is imported.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

GPU_BACKENDS = ("cuda", "triton")


@pytest.fixture(autouse=True)
def twin_cache(tmp_path_factory, monkeypatch):
    """The large twins' feature cache (ActivityNet's) in the session's temporary folder, not ~/.cache/ptal."""
    monkeypatch.setenv("PTAL_CACHE", str(tmp_path_factory.getbasetemp() / "ptal-cache"))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: runs on a GPU when there is one (a CUDA or Triton backend, or a "
                                       "GPU-only check); benchmarks/gpu_check.py runs these")


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") in GPU_BACKENDS:
            item.add_marker("gpu")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The run folder of ``ptal demo`` of both models (the default) on tiny settings."""
    from ptal.cli import main
    from tests.tiny import TINY_APN, TINY_LACP

    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--out", str(out), *(f"lacp.{o}" for o in TINY_LACP), *(f"apn.{o}" for o in TINY_APN)]) == 0
    return out
