"""OIC of many segments, forward and forward + backward: reference vs C++ CPU vs Triton (GPU).

    pytest benchmarks/test_bench_oic_scores.py
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from ptal.ops import oic_scores


def pseudo_label_runs(num_videos: int, num_snippets: int, num_segments: int, seed: int = 0):
    """LACP training: (scores (B, T), segments (K, 3)) where each video is tiled by K / B consecutive runs
    (the action and background runs of its pseudo labels) cut at random snippets."""
    gen = torch.Generator().manual_seed(seed)
    per_video = num_segments // num_videos
    rows = []
    for b in range(num_videos):
        cuts = torch.randperm(num_snippets - 1, generator=gen)[:per_video - 1].sort().values + 1
        starts = torch.cat([torch.tensor([0]), cuts])
        ends = torch.cat([cuts - 1, torch.tensor([num_snippets - 1])])
        rows.append(torch.stack([torch.full_like(starts, b), starts, ends], 1))
    return torch.rand(num_videos, num_snippets, generator=gen), torch.cat(rows)


def proposal_runs(num_snippets: int, num_segments: int, seed: int = 0):
    """Inference: (scores (1, T), segments (K, 3)) of one long (24x upsampled) video, proposals of
    lengths 1 to ~1 000 snippets anywhere in it, overlapping as thresholded runs do."""
    gen = torch.Generator().manual_seed(seed)
    lengths = (torch.rand(num_segments, generator=gen) ** 3 * 1000).long() + 1
    starts = (torch.rand(num_segments, generator=gen) * (num_snippets - lengths)).long()
    segments = torch.stack([torch.zeros_like(starts), starts, starts + lengths - 1], 1)
    return torch.rand(1, num_snippets, generator=gen), segments


WORKLOADS = {
    "lacp-train-16x750-K2000": lambda: pseudo_label_runs(16, 750, 2000),
    "inference-1x18000-K20000": lambda: proposal_runs(18000, 20000),
}


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("backend", runnable("oic_scores"))
def test_oic_scores_forward(benchmark, backend, workload):
    benchmark.group = f"oic_scores forward {workload}"
    device = device_for(backend)
    scores, segments = (t.to(device) for t in WORKLOADS[workload]())

    def run():
        values = oic_scores(scores, segments, backend=backend)
        synchronize(device)
        return values

    timed(benchmark, backend, run)


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("backend", runnable("oic_scores"))
def test_oic_scores_forward_backward(benchmark, backend, workload):
    benchmark.group = f"oic_scores forward+backward {workload}"
    device = device_for(backend)
    scores, segments = (t.to(device) for t in WORKLOADS[workload]())
    scores.requires_grad_()

    def run():
        loss = (1 - oic_scores(scores, segments, backend=backend)).mean()  # as in LACP's score loss
        (grad,) = torch.autograd.grad(loss, scores)
        synchronize(device)
        return grad

    timed(benchmark, backend, run)
