import subprocess
import sys

import pytest
import torch

import ptal_core
from ptal.ops import segment_iou, temporal_nms
from ptal_core.backends import BackendUnavailable, select


def test_every_op_has_a_reference_and_a_cpu_backend():
    for op in ("segment_iou", "temporal_nms", "soft_nms"):
        impls = ptal_core.implementations(op)
        assert {"reference", "cpu"} <= set(impls)
    assert "cuda" in ptal_core.implementations("temporal_nms")
    assert "cuda" in ptal_core.implementations("soft_nms")
    assert "triton" in ptal_core.implementations("segment_iou")


def test_automatic_choice_on_cpu_is_the_compiled_module():
    assert select("temporal_nms", torch.device("cpu"))[0] == "cpu"
    assert select("segment_iou", torch.device("cpu"))[0] == "cpu"


def test_environment_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv("PTAL_BACKEND", "reference")
    assert select("temporal_nms", torch.device("cpu"))[0] == "reference"
    assert select("temporal_nms", torch.device("cpu"), "cpu")[0] == "cpu"  # the argument wins
    monkeypatch.setenv("PTAL_BACKEND", "vulkan")
    with pytest.raises(ValueError, match="backend must be one of"):
        select("temporal_nms", torch.device("cpu"))


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
        select("temporal_nms", torch.device("cpu"))
    assert select("temporal_nms", torch.device("cpu"), "reference")[0] == "reference"


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
