"""Grouped Gaussian soft-NMS (top 200 per group): reference vs C++ CPU vs CUDA.

    pytest benchmarks/test_bench_soft_nms.py
"""
import pytest

from benchmarks.backends import device_for, runnable, synchronize, timed
from benchmarks.workloads import SIZES, proposals
from ptal.ops import soft_nms


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("backend", runnable("soft_nms"))
def test_soft_nms(benchmark, backend, size):
    benchmark.group = f"soft_nms {size}"
    device = device_for(backend)
    segments, scores, idxs = (t.to(device) for t in proposals(*SIZES[size]))

    def run():
        out = soft_nms(segments, scores, idxs, method="gaussian", sigma=0.5, max_keep=200, backend=backend)
        synchronize(device)
        return out

    out = timed(benchmark, backend, run)
    benchmark.extra_info["kept"] = int(out[2].numel())
