import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import sample_proposal_features
from tests.ops.backends import device_of, fast_backends, table

BACKENDS = fast_backends("sample_proposal_features")
ALL = ["reference", *BACKENDS]
# Values: every backend computes the positions in float64 and blends in the features' dtype as the reference
# does. Gradients: the summation order differs (reference: PyTorch's in the features' dtype; cpu: float64 in
# proposal order; triton: per snippet in the features' dtype), so they are held to the tolerance times the
# largest gradient.
TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-12}
GRAD_TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}

# One video of 4 snippets and 2 channels: the hand-checked values below are computed on it.
X = [[0.0, 1.0], [2.0, 1.0], [4.0, 5.0], [8.0, 0.0]]


def run(backend, features, proposals, lengths=None, grad_weights=None, **kwargs):
    """sample_proposal_features on the backend's device; returns (values, d sum(grad_weights * values) /
    d features) on the CPU, grad_weights being a fixed pattern when not given."""
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    features = features.detach().to(device).requires_grad_()
    lengths = None if lengths is None else lengths.to(device)
    values = sample_proposal_features(features, proposals.to(device), lengths=lengths, backend=backend, **kwargs)
    assert values.dtype == features.dtype and values.device.type == device.type
    assert values.shape == (proposals.shape[0], kwargs.get("num_samples", 32), features.shape[2])
    if grad_weights is None:
        grad_weights = torch.linspace(-1, 2, values.numel(), dtype=values.dtype).reshape(values.shape)
    (grad,) = torch.autograd.grad(values, features, grad_weights.to(device))
    return values.detach().cpu(), grad.cpu()


def one_video(*segments, dtype=torch.float64):
    return torch.tensor([[0.0, s, e] for s, e in segments], dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ALL)
def test_hand_checked(backend, dtype):
    features = torch.tensor([X], dtype=dtype)
    x = torch.tensor(X, dtype=dtype)
    # [1, 2], expand 0.5: d = 1, points at 0.5, 1.5, 2.5 (halfway between neighbours).
    values, grad = run(backend, features, one_video((1, 2), dtype=dtype), num_samples=3, expand=0.5,
                       grad_weights=torch.ones(1, 3, 2, dtype=dtype))
    torch.testing.assert_close(values[0], torch.tensor([[1.0, 1.0], [3.0, 3.0], [6.0, 2.5]], dtype=dtype))
    torch.testing.assert_close(grad[0], torch.tensor([[0.5] * 2, [1.0] * 2, [1.0] * 2, [0.5] * 2], dtype=dtype))
    # [0, 3], expand 0: the snippets themselves; [-3, -1] and [5, 5] clamp to the edges.
    values, _ = run(backend, features, one_video((0, 3), (-3, -1), (5, 5), dtype=dtype), num_samples=4, expand=0.0)
    torch.testing.assert_close(values, torch.stack([x, x[[0, 0, 0, 0]], x[[3, 3, 3, 3]]]))
    # [1, 2] with the default expand 0.1 and N = 2: points at 0.9 and 2.1.
    values, _ = run(backend, features, one_video((1, 2), dtype=dtype), num_samples=2)
    expected = torch.stack([0.1 * x[0] + 0.9 * x[1], 0.9 * x[2] + 0.1 * x[3]])
    torch.testing.assert_close(values[0], expected, rtol=0, atol=TOLERANCE[dtype] * 10)
    # [2.5, 3.5], expand 0.5: points 2, 3 and 4, the last clamped to snippet 3.
    values, _ = run(backend, features, one_video((2.5, 3.5), dtype=dtype), num_samples=3, expand=0.5)
    torch.testing.assert_close(values[0], x[[2, 3, 3]])


@pytest.mark.parametrize("backend", ALL)
def test_lengths_clamp_and_padding_is_ignored(backend):
    features = torch.tensor([X, X[:2] + [[float("nan")] * 2] * 2], dtype=torch.float64)
    proposals = torch.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    values, grad = run(backend, features, proposals, torch.tensor([4, 2]), num_samples=4, expand=0.0)
    x = torch.tensor(X, dtype=torch.float64)
    torch.testing.assert_close(values, torch.stack([x[[0, 1, 1, 1]], x]))  # video 1 ends at snippet 1
    assert grad[1, 2:].eq(0).all()


@pytest.mark.parametrize("backend", ALL)
def test_one_snippet_zero_length_and_no_proposals(backend):
    features = torch.tensor([[[0.5, -2.0]]])
    values, grad = run(backend, features, torch.tensor([[0.0, 0.0, 0.0], [0.0, -4.0, 9.5]]), num_samples=5,
                       grad_weights=torch.ones(2, 5, 2))
    assert values.eq(features[0, 0]).all() and grad.tolist() == [[[10.0, 10.0]]]
    features = torch.rand(2, 5, 3)
    values, grad = run(backend, features, torch.zeros((0, 3)), num_samples=4)
    assert values.shape == (0, 4, 3) and grad.shape == (2, 5, 3) and grad.eq(0).all()


@st.composite
def batches(draw, dtype):
    """(features (B, T, E), proposals (P, 3), lengths (B,)): videos of different lengths (T down to 1) and
    proposals inside, partly outside, wholly outside and of zero length, some repeated."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    num_videos = draw(st.integers(1, 3))
    num_snippets = draw(st.sampled_from([1, 2, 3, 10, 64]))
    channels = draw(st.sampled_from([1, 3, 16, 130]))
    lengths = torch.randint(1, num_snippets + 1, (num_videos,), generator=gen)
    lengths[0] = num_snippets
    features = torch.randn(num_videos, num_snippets, channels, generator=gen, dtype=dtype)
    count = draw(st.integers(1, 40))
    batch = torch.randint(0, num_videos, (count,), generator=gen)
    span = lengths[batch].to(torch.float64)
    start = torch.rand(count, generator=gen, dtype=torch.float64) * span * 1.6 - span * 0.3
    duration = torch.rand(count, generator=gen, dtype=torch.float64) * span
    duration[torch.rand(count, generator=gen) < 0.2] = 0
    if draw(st.booleans()):  # snippet-aligned bounds: points land exactly on snippets and on the edges
        start, duration = start.round(), duration.round()
    proposals = torch.stack([batch.to(torch.float64), start, start + duration], 1)
    proposals = torch.cat([proposals, proposals[:draw(st.integers(0, 3))]])
    return features, proposals.to(draw(st.sampled_from([torch.float32, torch.float64]))), lengths


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), num_samples=st.sampled_from([2, 3, 8, 32]), expand=st.sampled_from([0.1, 0.0, 0.5, 1.7]))
def test_backend_equals_reference(backend, dtype, data, num_samples, expand):
    features, proposals, lengths = data.draw(batches(dtype))
    kwargs = dict(num_samples=num_samples, expand=expand)
    expected_values, expected_grad = run("reference", features, proposals, lengths, **kwargs)
    values, grad = run(backend, features, proposals, lengths, **kwargs)
    torch.testing.assert_close(values, expected_values, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    tolerance = GRAD_TOLERANCE[dtype]
    torch.testing.assert_close(grad, expected_grad, rtol=tolerance, atol=tolerance * expected_grad.abs().max())


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_is_deterministic(backend):
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(2, 30, 70, generator=gen)
    starts = torch.rand(300, generator=gen) * 30
    proposals = torch.stack([torch.randint(0, 2, (300,), generator=gen).float(), starts, starts + 3], 1)
    grads = [run(backend, features, proposals, num_samples=8)[1] for _ in range(2)]
    assert torch.equal(*grads)


@pytest.mark.parametrize("backend", ALL)
def test_gradcheck(backend):
    gen = torch.Generator().manual_seed(0)
    features = torch.rand(3, 9, 2, generator=gen, dtype=torch.float64)
    # Bounds off the snippet grid, so that no point sits where the interpolation has a kink.
    proposals = torch.tensor([[0, 0.3, 4.7], [0, 2.2, 2.2], [0, -3.1, 0.45], [1, 1.1, 9.6], [1, 2.2, 3.3],
                              [2, 0.4, 2.9], [2, 0.4, 2.9]], dtype=torch.float64)
    lengths = torch.tensor([9, 7, 4])
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    features = features.to(device).requires_grad_()
    # Triton under the interpreter: a random-projection gradcheck (one backward call instead of one per output).
    assert torch.autograd.gradcheck(
        lambda f: sample_proposal_features(f, proposals.to(device), num_samples=6, lengths=lengths.to(device),
                                           backend=backend), (features,), fast_mode=backend == "triton")


def test_automatic_choice_on_cpu_is_the_compiled_module():
    assert table("sample_proposal_features").choose(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(features=torch.zeros(2, 6, 3, dtype=torch.float16)), TypeError, "features must have dtype"),
    (dict(features=torch.zeros(2, 6)), ValueError, "features must have 3 dimension"),
    (dict(features=torch.full((2, 6, 3), float("nan"))), ValueError, "features must be finite"),
    (dict(features=[[[0.0]]]), TypeError, "features must be a torch.Tensor"),
    (dict(proposals=torch.tensor([[0, 1, 2]])), TypeError, "proposals must have dtype"),
    (dict(proposals=torch.tensor([[0.0, 1.0]])), ValueError, "proposals must have last dimension 3"),
    (dict(proposals=torch.tensor([[0.0, 1.0, float("nan")]])), ValueError, "proposals must be finite"),
    (dict(proposals=torch.tensor([[0.0, float("-inf"), 1.0]])), ValueError, "proposals must be finite"),
    (dict(proposals=torch.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0]])), ValueError,
     r"integral batch index in \[0, 2\), row 1"),
    (dict(proposals=torch.tensor([[0.5, 1.0, 2.0]])), ValueError, "integral batch index"),
    (dict(proposals=torch.tensor([[-1.0, 1.0, 2.0]])), ValueError, "integral batch index"),
    (dict(proposals=torch.tensor([[0.0, 3.0, 2.0]])), ValueError, "start <= end, row 0"),
    (dict(proposals=torch.tensor([[1.0, 0.0, 2.0]]), lengths=torch.tensor([6, 0])), ValueError,
     "empty video, row 0"),
    (dict(num_samples=1), ValueError, "num_samples must be >= 2"),
    (dict(num_samples=4.0), TypeError, "num_samples must be an int"),
    (dict(expand=-0.1), ValueError, "expand must be >= 0"),
    (dict(expand=float("nan")), ValueError, "expand must be finite"),
    (dict(lengths=torch.tensor([7, 6])), ValueError, r"lengths must be in \[0, 6\]"),
    (dict(lengths=torch.tensor([6])), ValueError, r"lengths must have shape \(2,\)"),
])
def test_bad_input(kwargs, error, match):
    args = dict(features=torch.zeros(2, 6, 3), proposals=torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 5.0]]))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        sample_proposal_features(**args)
