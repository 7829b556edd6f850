import subprocess
import sys

import pytest
import torch

import ptal_core
from ptal.ops import segment_iou, temporal_nms
from ptal_core.backends import BackendUnavailable
from tests.ops.backends import table


def test_every_op_lists_its_backends_where_it_is_defined():
    for op in ("segment_iou", "temporal_nms", "soft_nms"):
        assert {"reference", "cpu"} <= set(table(op).names)
    assert "cuda" in table("temporal_nms").names
    assert "cuda" in table("soft_nms").names
    assert table("segment_iou").names == ("reference", "cpu", "triton")


def test_automatic_choice_on_cpu_is_the_compiled_module():
    assert table("temporal_nms").choose(torch.device("cpu")) == "cpu"
    assert table("segment_iou").choose(torch.device("cpu")) == "cpu"


def test_environment_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv("PTAL_BACKEND", "reference")
    assert table("temporal_nms").choose(torch.device("cpu")) == "reference"
    assert table("temporal_nms").choose(torch.device("cpu"), "cpu") == "cpu"  # the argument wins
    monkeypatch.setenv("PTAL_BACKEND", "vulkan")
    with pytest.raises(ValueError, match="backend must be one of"):
        table("temporal_nms").choose(torch.device("cpu"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without a GPU")
def test_unavailable_backend_says_how_to_get_it():
    segments, scores = torch.tensor([[0.0, 1.0]]), torch.tensor([1.0])
    with pytest.raises(BackendUnavailable, match="cuda.*unavailable"):
        temporal_nms(segments, scores, 0.5, backend="cuda")
    with pytest.raises(BackendUnavailable, match="segment_iou has no 'cuda' backend"):
        segment_iou(segments, segments, backend="cuda")


def test_missing_compiled_module_is_an_error_not_a_fallback(monkeypatch):
    from ptal_core import backends

    monkeypatch.setattr(backends, "compiled_module", lambda name: None)
    with pytest.raises(BackendUnavailable, match="reinstall ptal"):
        table("temporal_nms").choose(torch.device("cpu"))
    assert table("temporal_nms").choose(torch.device("cpu"), "reference") == "reference"


def test_the_registered_op_checks_the_backend_it_is_given():
    segments, scores = torch.tensor([[0.0, 1.0]]), torch.tensor([1.0])
    with pytest.raises(BackendUnavailable, match="segment_iou has no 'cuda' backend"):
        torch.ops.ptal.segment_iou(segments, segments, 0.0, "cuda", True)
    with pytest.raises(ValueError, match="backend must be one of"):
        torch.ops.ptal.temporal_nms(segments, scores, 0.5, None, 0.0, False, 0.0, "fastest", True)


def test_info_tells_what_was_built():
    report = ptal_core.info()
    assert report["cpu_module"]["built"] is True
    assert report["torch"] == torch.__version__
    assert report["cuda_module"]["usable"] == (report["cuda_module"]["built"] and torch.cuda.is_available())
    if report["cuda_module"]["built"]:
        assert "90" in report["cuda_module"]["architectures"] and "80" in report["cuda_module"]["architectures"]
    assert (report["gpu"] is not None) == torch.cuda.is_available()


def test_info_command():
    out = subprocess.run([sys.executable, "-m", "ptal", "info"], capture_output=True, text=True, check=True).stdout
    assert "C++ CPU module built" in out
    assert f"torch          {torch.__version__}" in out


def test_importing_and_calling_the_ops_loads_neither_the_models_nor_matplotlib_numba_triton_or_dynamo():
    code = ("import sys, torch, ptal.ops, ptal.ops.internal; "
            "ptal.ops.temporal_nms(torch.zeros(1, 2), torch.ones(1), 0.5); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numba', 'triton') "
            "or m.startswith(('ptal.models', 'ptal.eval', 'ptal.train', 'torch._dynamo'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
