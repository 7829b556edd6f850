"""Grouped hard NMS: reference vs C++ CPU vs CUDA (and torchvision's batched_nms where installed).

    pytest benchmarks/test_bench_temporal_nms.py
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from benchmarks.workloads import SIZES, proposals
from ptal.ops import temporal_nms


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("backend", runnable("temporal_nms"))
def test_temporal_nms(benchmark, backend, size):
    benchmark.group = f"temporal_nms {size}"
    device = device_for(backend)
    segments, scores, idxs = (t.to(device) for t in proposals(*SIZES[size]))

    def run():
        keep = temporal_nms(segments, scores, 0.5, idxs, backend=backend)
        synchronize(device)
        return keep

    keep = timed(benchmark, backend, run)
    benchmark.extra_info["kept"] = int(keep.numel())


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_torchvision_batched_nms(benchmark, device, size):
    torchvision = pytest.importorskip("torchvision")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    benchmark.group = f"temporal_nms {size}"
    segments, scores, idxs = (t.to(device) for t in proposals(*SIZES[size]))
    boxes = torch.stack([segments[:, 0], torch.zeros_like(scores), segments[:, 1], torch.ones_like(scores)], 1)

    def run():
        keep = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)
        synchronize(torch.device(device))
        return keep

    keep = benchmark(run)
    assert torch.equal(keep.cpu(), temporal_nms(segments.cpu(), scores.cpu(), 0.5, idxs.cpu()))
