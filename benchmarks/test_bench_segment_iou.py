"""Pairwise IoU of 2 000 x 2 000 segments: reference vs C++ CPU vs Triton (GPU).

    pytest benchmarks/test_bench_segment_iou.py
"""
import pytest

from benchmarks.backends import device_for, runnable, synchronize
from benchmarks.workloads import proposals
from ptal.ops import segment_iou


@pytest.mark.parametrize("backend", runnable("segment_iou"))
def test_segment_iou(benchmark, backend):
    benchmark.group = "segment_iou 2000x2000"
    device = device_for(backend)
    segments = proposals(1, 2000)[0].to(device)

    def run():
        iou = segment_iou(segments, segments, backend=backend)
        synchronize(device)
        return iou

    benchmark(run)
