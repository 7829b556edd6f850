import pathlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import roi_align_1d
from ptal_core.backends import triton_interpreted
from tests.ops.backends import CUDA_ON_CPU, device_of, fast_backends, op_backend

BACKENDS = fast_backends("roi_align_1d")
ALL = ["reference", *BACKENDS]
FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "roi_align_1d_torchvision.npz"
# Every backend computes the same sample positions and weights (the reference's arithmetic); the values are
# summed in the same order on every backend (equal to 1 ulp of the compute dtype), the gradients in different
# orders (reference: all left contributions, then all right ones), so both are held to a tolerance; a gradient
# element sums every sample that reads its snippet, so assert_matches_reference scales its tolerance by the sum of
# those terms' magnitudes.
TOLERANCE = {torch.float32: dict(rtol=1e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12),
             torch.float16: dict(rtol=1e-3, atol=1e-3), torch.bfloat16: dict(rtol=8e-3, atol=8e-3)}


def run(backend, features, rois, output_size, grad_out=None, **kwargs):
    """roi_align_1d on the backend's device; returns (values, d sum(grad_out * values) / d features) on the
    CPU; grad_out is a fixed pattern when not given."""
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    features = features.detach().to(device).requires_grad_()
    values = roi_align_1d(features, rois.to(device), output_size, backend=op_backend(backend), **kwargs)
    assert values.dtype == features.dtype and values.device.type == device.type
    assert values.shape == (rois.shape[0], features.shape[1], output_size)
    if grad_out is None:
        grad_out = torch.linspace(-1, 2, values.numel(), dtype=values.dtype).reshape(values.shape)
    (grad,) = torch.autograd.grad(values, features, grad_out.to(device))
    return values.detach().cpu(), grad.cpu()


def assert_matches_reference(backend, features, rois, output_size, **kwargs):
    """The backend's values and gradients (run's fixed grad_out) against the reference's: values to TOLERANCE
    (exactly for float64 on the CPU backend, which sums in the same order), gradients to TOLERANCE's atol times
    (1 + the sum of the magnitudes of the terms added into each element): the gradient of |grad_out| through the
    op's non-negative interpolation weights. Returns nothing; raises AssertionError naming the worst element."""
    dtype = features.dtype
    values, grad = run(backend, features, rois, output_size, **kwargs)
    expected, expected_grad = run("reference", features, rois, output_size, **kwargs)
    exact = backend == "cpu" and dtype == torch.float64
    torch.testing.assert_close(values, expected, rtol=0, atol=0 if exact else TOLERANCE[dtype]["atol"])
    pattern = torch.linspace(-1, 2, expected.numel(), dtype=dtype).reshape(expected.shape)
    _, magnitude = run("reference", features, rois, output_size, grad_out=pattern.abs(), **kwargs)
    excess = (grad - expected_grad).abs() - TOLERANCE[dtype]["atol"] * (1 + magnitude)
    worst = int(excess.argmax()) if excess.numel() else 0
    assert excess.numel() == 0 or excess.flatten()[worst] <= 0, (
        f"{backend}: gradient element {worst} is {grad.flatten()[worst]}, the reference's "
        f"{expected_grad.flatten()[worst]} (terms' magnitude {magnitude.flatten()[worst]})")


def one_video(*segments, dtype=torch.float64):
    return torch.tensor([[0.0, s, e] for s, e in segments], dtype=dtype)


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked(backend):
    x = torch.tensor([[[0.0, 2.0, 4.0, 8.0], [1.0, 1.0, 5.0, 0.0]]], dtype=torch.float64)  # (1, 2, 4)
    # [1, 3] in 2 bins of width 1, one sample each (adaptive), at 1.5 and 2.5.
    values, grad = run(backend, x, one_video((1, 3)), 2, grad_out=torch.ones(1, 2, 2, dtype=torch.float64))
    torch.testing.assert_close(values[0], torch.tensor([[3.0, 6.0], [3.0, 2.5]], dtype=torch.float64))
    torch.testing.assert_close(grad[0], torch.tensor([[0.0, 0.5, 1.0, 0.5]] * 2, dtype=torch.float64))
    # aligned: [1, 3] becomes [0.5, 2.5]: samples at 1.0 and 2.0, the snippets themselves.
    values, _ = run(backend, x, one_video((1, 3)), 2, aligned=True)
    torch.testing.assert_close(values[0], x[0, :, 1:3])
    # [0, 4], one bin, sampling_ratio 2: samples at 1 and 3, mean of x[1] and x[3].
    values, _ = run(backend, x, one_video((0, 4)), 1, sampling_ratio=2)
    torch.testing.assert_close(values[0, :, 0], (x[0, :, 1] + x[0, :, 3]) / 2)
    # [0, 8] in 2 bins of 2 samples, at 1, 3 | 5, 7: the last two lie outside [-1, 4] and add 0.
    values, _ = run(backend, x, one_video((0, 8)), 2, sampling_ratio=2)
    torch.testing.assert_close(values[0], torch.stack([(x[0, :, 1] + x[0, :, 3]) / 2, 0 * x[0, :, 0]], 1))
    # Points within one snippet of an end read the end snippet: 3 and 4 read x[3], -1 and 0 read x[0].
    values, _ = run(backend, x, one_video((2.5, 4.5), (-1.5, 0.5)), 1, sampling_ratio=2)
    torch.testing.assert_close(values[:, :, 0], x[0, :, [3, 0]].T)
    # Shorter than a snippet (not aligned): widened to 1: [2.2, 2.4] in one bin samples 2.7.
    values, _ = run(backend, x, one_video((2.2, 2.4)), 1)
    torch.testing.assert_close(values[0, :, 0], 0.3 * x[0, :, 2] + 0.7 * x[0, :, 3])
    # spatial_scale 0.5: [2, 6] is [1, 3] of the map.
    values, _ = run(backend, x, one_video((2, 6)), 2, spatial_scale=0.5)
    torch.testing.assert_close(values[0], torch.tensor([[3.0, 6.0], [3.0, 2.5]], dtype=torch.float64))


@pytest.mark.parametrize("backend", ALL)
def test_zero_width_aligned_rois_one_snippet_and_no_rois(backend):
    x = torch.tensor([[[0.5, -2.0]]])  # (1, 1, 2)
    values, grad = run(backend, x, one_video((1.0, 1.0), dtype=torch.float32), 3, aligned=True)
    assert values.eq(0).all() and grad.eq(0).all()  # no samples: 0, no gradient
    one = torch.tensor([[[1.5], [-3.0]]])  # one snippet, two channels
    values, grad = run(backend, one, one_video((-0.9, 1.0), (0.0, 0.0), dtype=torch.float32), 2,
                       grad_out=torch.ones(2, 2, 2))
    assert values.eq(one[0, :, 0, None]).all()  # every sample within [-1, 1] reads the only snippet
    assert grad.eq(4.0).all()
    values, grad = run(backend, torch.rand(2, 3, 5), torch.zeros((0, 3)), 4)
    assert values.shape == (0, 3, 4) and grad.shape == (2, 3, 5) and grad.eq(0).all()


def random_case(seed, videos, channels, snippets, count, dtype):
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(videos, channels, snippets, generator=gen, dtype=torch.float64).to(dtype)
    start = torch.rand(count, generator=gen, dtype=torch.float64) * (snippets + 4) - 3
    width = torch.rand(count, generator=gen, dtype=torch.float64) * snippets * 0.7
    width[::5] = 0.0
    batch = torch.randint(0, videos, (count,), generator=gen).double()
    rois = torch.stack([batch, start, start + width], 1)
    return features, rois


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), snippets=st.integers(1, 40), count=st.integers(0, 12),
       output_size=st.integers(1, 9), sampling_ratio=st.integers(-1, 3), aligned=st.booleans(),
       scale=st.sampled_from([1.0, 0.5, 0.25, 2.0]), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_fast_backends_match_the_reference(seed, snippets, count, output_size, sampling_ratio, aligned, scale,
                                           dtype):
    features, rois = random_case(seed, 3, 5, snippets, count, dtype)
    for param in BACKENDS:
        if not param.marks:
            assert_matches_reference(param.values[0], features, rois, output_size, sampling_ratio=sampling_ratio,
                                     aligned=aligned, spatial_scale=scale)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("backend", ALL)
def test_half_types_are_computed_in_float32(backend, dtype):
    features, rois = random_case(3, 2, 6, 50, 20, torch.float32)
    features = features.to(dtype)
    grad_out = torch.linspace(-1, 2, 20 * 6 * 6).reshape(20, 6, 6).to(dtype)
    values, grad = run(backend, features, rois, 6, grad_out=grad_out)
    expected, expected_grad = run("reference", features.float(), rois, 6, grad_out=grad_out.float())
    assert values.dtype == dtype and grad.dtype == dtype
    # The float32 result rounded once.
    torch.testing.assert_close(values, expected.to(dtype), rtol=0, atol=0)
    torch.testing.assert_close(grad.float(), expected_grad, **TOLERANCE[dtype])


@pytest.mark.parametrize("backend", ALL)
def test_backward_is_deterministic_and_gradcheck(backend):
    features, rois = random_case(7, 2, 3, 30, 40, torch.float64)
    rois = torch.cat([rois, rois[:10]])  # repeated RoIs add to the same snippets
    first = run(backend, features, rois, 5)[1]
    assert torch.equal(first, run(backend, features, rois, 5)[1])
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    small, small_rois = random_case(8, 1, 1, 6, 3, torch.float64)
    x = small.to(device).requires_grad_()
    assert torch.autograd.gradcheck(lambda f: roi_align_1d(f, small_rois.to(device), 3, sampling_ratio=2,
                                                           backend=op_backend(backend)), (x,))


def fixture_cases():
    data = np.load(FIXTURE)
    names = sorted({key.split("/")[0] for key in data.files if "/" in key})
    return data, names


@pytest.mark.parametrize("backend", ALL)
def test_equals_torchvision_recorded(backend):
    """torchvision 0.29.1's CPU roi_align on (B, C, 1, T), recorded by fixtures/record_roi_align_1d_torchvision.py:
    float32 to 1e-6 (and bit for bit on the CPU backend with sampling_ratio <= 1), forward and backward."""
    data, names = fixture_cases()
    assert len(names) == 12
    if (backend == "triton" and triton_interpreted()) or backend == CUDA_ON_CPU:
        names = [name for name in names if not name.startswith("thumos")]  # minutes interpreted or emulated
    for name in names:
        case = {key: torch.from_numpy(data[f"{name}/{key}"]) for key in ("features", "rois", "grad_out", "out", "grad")}
        output_size, ratio, aligned, scale = data[f"{name}/settings"].tolist()
        values, grad = run(backend, case["features"], case["rois"], int(output_size), grad_out=case["grad_out"],
                           sampling_ratio=int(ratio), aligned=bool(aligned), spatial_scale=scale)
        tolerance = TOLERANCE[case["features"].dtype]
        if backend == "cpu" and case["features"].dtype == torch.float32 and ratio <= 1:
            tolerance = dict(rtol=0, atol=0)
        torch.testing.assert_close(values, case["out"], **tolerance, msg=lambda m: f"{name}: {m}")
        torch.testing.assert_close(grad, case["grad"], **tolerance, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [0, 1, 3])
def test_equals_torchvision_directly(aligned, sampling_ratio):
    """Where torchvision is importable beside ptal: its roi_align with boxes [start, 0, end, 1]."""
    torchvision = pytest.importorskip("torchvision", exc_type=ImportError)
    features, rois = random_case(11, 3, 4, 80, 64, torch.float32)
    rois = rois.float()
    boxes = torch.cat([rois[:, :2], torch.zeros_like(rois[:, :1]), rois[:, 2:], torch.ones_like(rois[:, :1])], 1)
    x = features[:, :, None].clone().requires_grad_()
    expected = torchvision.ops.roi_align(x, boxes, (1, 6), sampling_ratio=sampling_ratio, aligned=aligned)
    grad_out = torch.randn(expected.shape, generator=torch.Generator().manual_seed(0))
    expected.backward(grad_out)
    values, grad = run("cpu", features, rois, 6, grad_out=grad_out[:, :, 0], sampling_ratio=sampling_ratio,
                       aligned=aligned)
    torch.testing.assert_close(values, expected[:, :, 0].detach(), **TOLERANCE[torch.float32])
    torch.testing.assert_close(grad, x.grad[:, :, 0], **TOLERANCE[torch.float32])


def test_bad_input_names_the_argument():
    x, rois = torch.rand(2, 3, 10), torch.tensor([[0.0, 1.0, 4.0]])
    with pytest.raises(ValueError, match="features must have 3 dimension"):
        roi_align_1d(x[0], rois, 4)
    with pytest.raises(ValueError, match="at least one snippet"):
        roi_align_1d(torch.rand(2, 3, 0), rois, 4)
    with pytest.raises(TypeError, match="features must have dtype"):
        roi_align_1d(x.long(), rois, 4)
    with pytest.raises(ValueError, match="rois must have last dimension 3"):
        roi_align_1d(x, rois[:, :2], 4)
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        roi_align_1d(x, rois, 0)
    with pytest.raises(ValueError, match="spatial_scale must be > 0"):
        roi_align_1d(x, rois, 4, spatial_scale=0.0)
    with pytest.raises(TypeError, match="sampling_ratio must be an int"):
        roi_align_1d(x, rois, 4, sampling_ratio=1.5)
    with pytest.raises(ValueError, match=r"integral batch index in \[0, 2\), row 1"):
        roi_align_1d(x, torch.tensor([[0.0, 1.0, 4.0], [2.0, 1.0, 4.0]]), 4)
    with pytest.raises(ValueError, match=r"integral batch index in \[0, 2\), row 0"):
        roi_align_1d(x, torch.tensor([[0.5, 1.0, 4.0]]), 4)
    with pytest.raises(ValueError, match="start <= end, row 0"):
        roi_align_1d(x, torch.tensor([[0.0, 4.0, 1.0]]), 4)
    with pytest.raises(ValueError, match="rois must be finite"):
        roi_align_1d(x, torch.tensor([[0.0, 1.0, float("inf")]]), 4)
