"""Tests that need a CUDA GPU: skipped without one, and marked ``gpu``, the marker that benchmarks/gpu_check.py
selects on a GPU machine (with every test of a CUDA or Triton backend, marked in conftest.py)."""
import pytest
import torch


def needs_gpu(reason: str = "needs a GPU"):
    skip = pytest.mark.skipif(not torch.cuda.is_available(), reason=reason)
    return lambda test: pytest.mark.gpu(skip(test))
