"""APN proposal features: forward and backward of every backend, and BMN's dense sampling-mask product.

    pytest benchmarks/test_bench_sample_proposal_features.py -s

Workload: B = 16 windows of T = 256 snippets, E = 512 float32 channels, 1 000 proposals per window (1 to 64
snippets long, anywhere in the window, some crossing its edges), N = 32 points each. Each test prints its
achieved bandwidth (also in the JSON's extra_info):
- "minimum" bytes: forward, the output P·N·E written + the features B·T·E read once; backward, the output
  gradient P·N·E read + the feature gradient B·T·E written. Compare it with the device's copy bandwidth.
- "gathered" bytes (forward): the output + two feature rows read per point, 3·P·N·E.
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from ptal.ops import sample_proposal_features
from ptal_core.reference.sample_proposal_features import sample_positions

WINDOWS, SNIPPETS, CHANNELS, PER_WINDOW, SAMPLES = 16, 256, 512, 1000, 32


def window_proposals(seed: int = 0, windows: int = WINDOWS, snippets: int = SNIPPETS, channels: int = CHANNELS,
                     per_window: int = PER_WINDOW):
    """(features (B, T, E) float32, proposals (P, 3) float32 by window): APN training windows."""
    gen = torch.Generator().manual_seed(seed)
    num = windows * per_window
    duration = 1 + torch.rand(num, generator=gen) * 63
    start = torch.rand(num, generator=gen) * (snippets + 16) - 8 - duration / 2
    batch = torch.arange(windows).repeat_interleave(per_window).float()
    features = torch.randn(windows, snippets, channels, generator=gen)
    return features, torch.stack([batch, start, start + duration], 1)


def sampling_mask(proposals: torch.Tensor, windows: int = WINDOWS, snippets: int = SNIPPETS,
                  samples: int = SAMPLES) -> torch.Tensor:
    """BMN's sample mask for these proposals (the same number in each window): (B, T, N * P_b) interpolation
    weights, column k * N + i holding point i of the window's proposal k (1 - w at its left snippet, w at its
    right one)."""
    lengths = torch.full((windows,), snippets)
    left, right, weight = (t.reshape(windows, -1) for t in sample_positions(proposals, lengths, samples, 0.1))
    mask = torch.zeros(windows, snippets, left.shape[1])
    mask.scatter_add_(1, left[:, None], (1 - weight).float()[:, None])
    mask.scatter_add_(1, right[:, None], weight.float()[:, None])
    return mask


def report(benchmark, **nbytes):
    """Record and print the achieved GB/s of each byte count over the median time."""
    median = benchmark.stats.stats.median
    rates = {f"{name} GB/s": round(count / median / 1e9, 2) for name, count in nbytes.items()}
    benchmark.extra_info.update(rates)
    print(f"\n{benchmark.group} [{benchmark.name}]: median {median * 1e3:.2f} ms, "
          + ", ".join(f"{name} {rate}" for name, rate in rates.items()))


OUTPUT_BYTES = WINDOWS * PER_WINDOW * SAMPLES * CHANNELS * 4
FEATURE_BYTES = WINDOWS * SNIPPETS * CHANNELS * 4


@pytest.mark.parametrize("backend", runnable("sample_proposal_features"))
def test_sample_proposal_features_forward(benchmark, backend):
    benchmark.group = "sample_proposal_features forward 16x256x512, 16 000 proposals, N 32"
    device = device_for(backend)
    features, proposals = (t.to(device) for t in window_proposals())

    def run():
        out = sample_proposal_features(features, proposals, num_samples=SAMPLES, backend=backend)
        synchronize(device)
        return out

    timed(benchmark, backend, run)
    report(benchmark, minimum=OUTPUT_BYTES + FEATURE_BYTES, gathered=3 * OUTPUT_BYTES)


@pytest.mark.parametrize("backend", runnable("sample_proposal_features"))
def test_sample_proposal_features_backward(benchmark, backend):
    benchmark.group = "sample_proposal_features backward 16x256x512, 16 000 proposals, N 32"
    device = device_for(backend)
    features, proposals = (t.to(device) for t in window_proposals())
    features.requires_grad_()
    out = sample_proposal_features(features, proposals, num_samples=SAMPLES, backend=backend)
    grad_out = torch.randn_like(out)

    def run():
        (grad,) = torch.autograd.grad(out, features, grad_out, retain_graph=True)
        synchronize(device)
        return grad

    timed(benchmark, backend, run)
    report(benchmark, minimum=OUTPUT_BYTES + FEATURE_BYTES)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_bmn_dense_mask(benchmark, direction):
    """BMN's way: one (T, N·P) weight matrix per window, features (E, T) @ mask; the mask (built once, as BMN
    does for its fixed proposal grid; not timed) holds T·N·P floats per window."""
    benchmark.group = f"sample_proposal_features {direction} 16x256x512, 16 000 proposals, N 32"
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    features, proposals = window_proposals()
    mask = sampling_mask(proposals).to(device)
    features = features.to(device).requires_grad_()
    benchmark.extra_info["mask MB"] = round(mask.numel() * 4 / 2**20, 1)
    print(f"\nBMN dense mask: {mask.numel() * 4 / 2**20:.0f} MiB for the (B, T, N·P) weights")
    out = torch.matmul(features.transpose(1, 2), mask)  # (B, E, N·P), BMN's layout
    grad_out = torch.randn_like(out)

    def forward():
        result = torch.matmul(features.transpose(1, 2), mask)
        synchronize(device)
        return result

    def backward():
        (grad,) = torch.autograd.grad(out, features, grad_out, retain_graph=True)
        synchronize(device)
        return grad

    timed(benchmark, "reference", forward if direction == "forward" else backward)
    report(benchmark, minimum=OUTPUT_BYTES + FEATURE_BYTES)
