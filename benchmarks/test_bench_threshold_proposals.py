"""Threshold proposals at LACP's inference shape: reference vs C++ CPU vs Triton.

    pytest benchmarks/test_bench_threshold_proposals.py
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from ptal.ops import threshold_proposals
from tests.ops.sequences import LACP_THRESHOLDS, upsampled_cas

# (videos, snippets before the 24x upsampling, predicted classes): one THUMOS14 test video of 750
# snippets (T = 18 000 after upsampling) and a batch of 16 of them.
SIZES = {"one-video-18000x3x19": (1, 750, 3), "16-videos-18000x3x19": (16, 750, 3)}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("backend", runnable("threshold_proposals"))
def test_threshold_proposals(benchmark, backend, size):
    benchmark.group = f"threshold_proposals {size}"
    device = device_for(backend)
    videos, time, classes = SIZES[size]
    gen = torch.Generator().manual_seed(0)
    scores = torch.cat([upsampled_cas(gen, time, classes) for _ in range(videos)]).to(device)
    thresholds = torch.tensor(LACP_THRESHOLDS, dtype=torch.float64, device=device)

    def run():
        segments = threshold_proposals(scores, thresholds, backend=backend)
        synchronize(device)
        return segments

    segments = timed(benchmark, backend, run)
    benchmark.extra_info["proposals"] = int(segments.shape[0])


