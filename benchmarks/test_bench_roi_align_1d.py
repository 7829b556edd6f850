"""RoIAlign over time: every ptal backend, forward and backward, beside its reference and (where torchvision is
importable) torchvision's ``roi_align`` on (B, C, 1, T) maps with boxes [start, 0, end, 1], the trick that TAL
codebases use instead of compiling G-TAD's Align1D.

    pytest benchmarks/test_bench_roi_align_1d.py -s

torchvision does not install beside ptal's torch 2.13 here; the comparison runs in an environment with
``torch==2.14.1 torchvision==0.29.1`` and ptal installed (``pip install . pytest pytest-benchmark hypothesis``).

Workload (an OpenTAD/VSGN RoI head on THUMOS14 windows): B = 8 windows of T = 768 snippets, C = 256 float32
channels, 512 RoIs per window (4 to 200 snippets, some crossing the window's edges), L = 16 bins, adaptive
sampling (``sampling_ratio=0``), ``aligned=False``.
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from benchmarks.machine import describe
from ptal.ops import roi_align_1d

WINDOWS, SNIPPETS, CHANNELS, PER_WINDOW, BINS = 8, 768, 256, 512, 16


def workload(seed: int = 0):
    """(features (B, C, T), rois (K, 3)) float32."""
    gen = torch.Generator().manual_seed(seed)
    count = WINDOWS * PER_WINDOW
    duration = 4 + torch.rand(count, generator=gen) * 196
    start = torch.rand(count, generator=gen) * (SNIPPETS + 40) - 20 - duration / 2
    batch = torch.arange(WINDOWS).repeat_interleave(PER_WINDOW).float()
    return torch.randn(WINDOWS, CHANNELS, SNIPPETS, generator=gen), torch.stack([batch, start, start + duration], 1)


@pytest.fixture(scope="module")
def timings():
    print(f"\nmachine: {describe()}")
    return {}


def torchvision_trick(torchvision, features, rois):
    boxes = torch.stack([rois[:, 0], rois[:, 1], torch.zeros_like(rois[:, 0]), rois[:, 2],
                         torch.ones_like(rois[:, 0])], 1)
    return torchvision.ops.roi_align(features[:, :, None], boxes, (1, BINS), sampling_ratio=0)[:, :, 0]


@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("backend", runnable("roi_align_1d"))
def test_ptal(benchmark, timings, backend, direction):
    device = device_for(backend)
    features, rois = (t.to(device) for t in workload())
    features.requires_grad_(direction == "backward")
    grad = torch.randn(rois.shape[0], CHANNELS, BINS, device=device)
    benchmark.group = f"roi_align_1d {direction}, {WINDOWS}x{CHANNELS}x{SNIPPETS}, {rois.shape[0]} RoIs, L={BINS}"

    def run():
        out = roi_align_1d(features, rois, BINS, backend=backend)
        if direction == "backward":
            torch.autograd.grad(out, features, grad)
        synchronize(device)

    timed(benchmark, backend, run)
    timings[backend, direction] = benchmark.stats.stats.median


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_torchvision_trick(benchmark, timings, direction):
    torchvision = pytest.importorskip("torchvision", exc_type=ImportError)
    features, rois = workload()
    features.requires_grad_(direction == "backward")
    grad = torch.randn(rois.shape[0], CHANNELS, BINS)
    benchmark.group = f"roi_align_1d {direction}, {WINDOWS}x{CHANNELS}x{SNIPPETS}, {rois.shape[0]} RoIs, L={BINS}"

    def run():
        out = torchvision_trick(torchvision, features, rois)
        if direction == "backward":
            torch.autograd.grad(out, features, grad)

    benchmark(run)
    timings["torchvision", direction] = benchmark.stats.stats.median


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_cpu_against_torchvision(timings, direction):
    torchvision = pytest.importorskip("torchvision", exc_type=ImportError)
    if {("torchvision", direction), ("cpu", direction)} - timings.keys():
        pytest.skip("needs test_ptal[cpu] and test_torchvision_trick in the same run")
    features, rois = workload()
    torch.testing.assert_close(roi_align_1d(features, rois, BINS, backend="cpu"),
                               torchvision_trick(torchvision, features, rois), rtol=0, atol=0)
    ratio = timings["torchvision", direction] / timings["cpu", direction]
    print(f"\n{direction}: torchvision {timings['torchvision', direction] * 1e3:.1f} ms, ptal cpu "
          f"{timings['cpu', direction] * 1e3:.1f} ms: {ratio:.1f}x (equal bit for bit)")
