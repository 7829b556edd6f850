"""APN proposal generation: reference vs C++ CPU vs Triton (GPU).

    pytest benchmarks/test_bench_generate_proposals.py

Workload: B = 16 windows of T = 256 snippets, d_max = 64, at most 1 000 proposals per window, boundary
probabilities shaped like a trained BDM's (smooth, with peaks at ~6 action boundaries per window).
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from ptal.ops import generate_proposals


def boundary_probabilities(windows: int = 16, snippets: int = 256, seed: int = 0):
    """(start_prob, end_prob) (B, T): low noise plus Gaussian bumps at random boundaries."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(snippets, dtype=torch.float32)
    probs = []
    for _ in range(2):
        centres = torch.rand(windows, 6, 1, generator=gen) * snippets
        bumps = torch.exp(-((t - centres) / 2.0) ** 2).sum(1)
        noise = torch.rand(windows, snippets, generator=gen) * 0.15
        probs.append((0.8 * bumps + noise).clamp(0, 1))
    return probs


@pytest.mark.parametrize("backend", runnable("generate_proposals"))
def test_generate_proposals(benchmark, backend):
    benchmark.group = "generate_proposals 16x256, d_max 64, max 1000"
    device = device_for(backend)
    start_prob, end_prob = (p.to(device) for p in boundary_probabilities())

    def run():
        result = generate_proposals(start_prob, end_prob, d_max=64, max_proposals=1000, backend=backend)
        synchronize(device)
        return result

    proposals, _ = timed(benchmark, backend, run)
    benchmark.extra_info["proposals"] = int(proposals.shape[0])
