import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import oic_scores
from tests.ops.backends import device_of, fast_backends, table

BACKENDS = fast_backends("oic_scores")
ALL = ["reference", *BACKENDS]
TOLERANCE = {torch.float32: 1e-6, torch.float64: 1e-12}

# One video of 8 snippets: the hand-checked values below are computed on it.
P = [1.0, 0.0, 3.0, 5.0, 2.0, 4.0, 0.0, 6.0]


def run(backend, scores, segments, lengths=None, **kwargs):
    """oic_scores on the backend's device; returns (values, d sum(weights * values) / d scores) on the CPU."""
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    scores = scores.detach().to(device).requires_grad_()
    lengths = None if lengths is None else lengths.to(device)
    values = oic_scores(scores, segments.to(device), lengths, backend=backend, **kwargs)
    assert values.dtype == scores.dtype and values.device.type == device.type
    assert values.shape == (segments.shape[0],)
    weights = torch.linspace(-1, 2, values.numel(), dtype=values.dtype, device=device)
    (grad,) = torch.autograd.grad((values * weights).sum(), scores)
    return values.detach().cpu(), grad.cpu()


def one_video(*segments):
    return torch.tensor([[0, s, e] for s, e in segments])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ALL)
def test_hand_checked(backend, dtype):
    scores = torch.tensor([P], dtype=dtype)
    segments = one_video((1, 2), (3, 5), (2, 5), (0, 7), (0, 0), (7, 7), (4, 7))
    expected = [
        1.5 - 1.0,  # len 2: outer_s = int(1 - 0.5) = 0, outer_e = int(2.5) = 2 -> outer = {p0}
        11 / 3 - 3.0,  # len 3: outer_s = int(3 - 0.75) = 2, outer_e = int(5.75) = 5 -> outer = {p2}
        3.5 - 0.0,  # len 4: outer = {p1, p6}
        21 / 8,  # the whole video: no outer set, OIC = inner mean
        1.0,  # [0, 0]: outer_s = 0, outer_e = int(0.25) = 0 -> empty
        6.0 - 0.0,  # [7, 7]: outer_s = int(6.75) = 6, outer_e clipped to 7 -> outer = {p6}
        3.0 - 5.0,  # [4, 7]: outer_s = 3, outer_e = min(7, 8) -> outer = {p3}
    ]
    values, _ = run(backend, scores, segments)
    torch.testing.assert_close(values, torch.tensor(expected, dtype=dtype), rtol=0, atol=TOLERANCE[dtype])


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_gradients(backend):
    scores = torch.tensor([P], dtype=torch.float64)
    _, grad = run(backend, scores, one_video((1, 2)))  # the only weight is -1
    torch.testing.assert_close(grad, -torch.tensor([[-1.0, 0.5, 0.5, 0, 0, 0, 0, 0]], dtype=torch.float64))
    _, grad = run(backend, scores, one_video((2, 5), (0, 7)))  # weights -1 and 2
    first = torch.tensor([0, -1 / 2, 1 / 4, 1 / 4, 1 / 4, 1 / 4, -1 / 2, 0], dtype=torch.float64)
    torch.testing.assert_close(grad[0], -first + 2 * torch.full((8,), 1 / 8, dtype=torch.float64))


@pytest.mark.parametrize("backend", ALL)
def test_lengths_clip_the_outer_margin_and_the_ratio_sets_it(backend):
    scores = torch.tensor([P, P], dtype=torch.float64)
    segments = torch.tensor([[0, 3, 4], [1, 3, 4]])
    # ratio 1, len 2: outer_s = 1 and outer_e = 6, clipped to 4 in the second video (length 5).
    values, grad = run(backend, scores, segments, torch.tensor([8, 5]), outer_ratio=1.0)
    torch.testing.assert_close(values, torch.tensor([3.5 - 7 / 4, 3.5 - 3 / 2], dtype=torch.float64))
    assert grad[1, 5:].eq(0).all()
    values, _ = run(backend, scores, segments, torch.tensor([8, 5]), outer_ratio=0.0)
    torch.testing.assert_close(values, torch.tensor([3.5, 3.5], dtype=torch.float64))


@pytest.mark.parametrize("backend", ALL)
def test_margins_are_truncated_from_float64(backend):
    # len 10, ratio 0.1: 0.1 * 10 is exactly 1.0 in float64 (but 1.0000000149 in float32, which would
    # truncate 5 - 1.0000000149 to 3): outer_s = 4, outer_e = 15, outer = {p4, p15}.
    scores = torch.arange(20, dtype=torch.float64)[None] ** 2
    values, _ = run(backend, scores, one_video((5, 14)), outer_ratio=0.1)
    inner = sum(t * t for t in range(5, 15)) / 10
    torch.testing.assert_close(values, torch.tensor([inner - (16 + 225) / 2], dtype=torch.float64))


@pytest.mark.parametrize("backend", ALL)
def test_padding_is_ignored(backend):
    scores = torch.tensor([P, P[:5] + [float("nan")] * 3], dtype=torch.float64)
    segments = torch.tensor([[1, 0, 4], [1, 2, 3], [0, 2, 3]])
    values, grad = run(backend, scores, segments, torch.tensor([8, 5]))
    clean, _ = run(backend, torch.tensor([P, P[:5] + [0.0] * 3], dtype=torch.float64), segments, torch.tensor([8, 5]))
    torch.testing.assert_close(values, clean)
    assert grad[1, 5:].eq(0).all()


@pytest.mark.parametrize("backend", ALL)
def test_one_snippet_and_no_segments(backend):
    values, grad = run(backend, torch.tensor([[0.25]]), one_video((0, 0)))
    assert values.tolist() == [0.25] and grad.tolist() == [[-1.0]]
    scores = torch.rand(2, 5)
    values, grad = run(backend, scores, torch.zeros((0, 3), dtype=torch.int64))
    assert values.shape == (0,) and grad.shape == (2, 5) and grad.eq(0).all()


@st.composite
def batches(draw, dtype):
    """(scores (B, T), segments (K, 3), lengths (B,)) with T up to 3 000, videos of different lengths,
    and segments of every kind: random, short (the margins truncate), one snippet at either end, the
    whole video, and repeated ones."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    num_videos = draw(st.integers(1, 4))
    num_snippets = draw(st.sampled_from([1, 2, 3, 7, 40, 333, 1000, 3000]))
    lengths = torch.randint(1, num_snippets + 1, (num_videos,), generator=gen)
    lengths[0] = num_snippets
    if draw(st.booleans()):
        scores = torch.rand(num_videos, num_snippets, generator=gen, dtype=dtype)
    else:
        scores = torch.randn(num_videos, num_snippets, generator=gen, dtype=dtype) * 2
    rows = []
    for b, length in enumerate(lengths.tolist()):
        count = draw(st.integers(0, 40))
        start = torch.randint(0, length, (count,), generator=gen)
        short = torch.rand(count, generator=gen) < 0.5
        span = torch.where(short, torch.randint(0, 6, (count,), generator=gen),
                           (torch.rand(count, generator=gen) * (length - start)).long())
        end = torch.minimum(start + span, torch.tensor(length - 1))
        rows += [[b, s, e] for s, e in zip(start.tolist(), end.tolist())]
        rows += [[b, 0, 0], [b, length - 1, length - 1], [b, 0, length - 1]]
    segments = torch.tensor(rows)
    repeats = torch.randint(0, len(rows), (draw(st.integers(0, 5)),), generator=gen)
    segments = torch.cat([segments, segments[repeats]])
    return scores, segments[torch.randperm(segments.shape[0], generator=gen)], lengths


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), outer_ratio=st.sampled_from([0.25, 0.25, 0.1, 0.5, 0.0, 1.3]))
def test_backend_equals_reference(backend, dtype, data, outer_ratio):
    scores, segments, lengths = data.draw(batches(dtype))
    expected_values, expected_grad = run("reference", scores, segments, lengths, outer_ratio=outer_ratio)
    values, grad = run(backend, scores, segments, lengths, outer_ratio=outer_ratio)
    tolerance = TOLERANCE[dtype]
    torch.testing.assert_close(values, expected_values, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(grad, expected_grad, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("backend", ALL)
def test_gradcheck(backend):
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(3, 12, generator=gen, dtype=torch.float64)
    segments = torch.tensor([[0, 0, 0], [0, 2, 5], [0, 2, 5], [0, 0, 11], [1, 3, 3], [1, 1, 8], [2, 6, 6],
                             [2, 0, 6], [2, 4, 5]])
    lengths = torch.tensor([12, 10, 7])
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    scores = scores.to(device).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda s: oic_scores(s, segments.to(device), lengths.to(device), backend=backend), (scores,))


def test_automatic_choice_on_cpu_is_the_compiled_module():
    assert table("oic_scores").choose(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(scores=torch.zeros(2, 6, dtype=torch.float16)), TypeError, "scores must have dtype"),
    (dict(scores=torch.zeros(12)), ValueError, "scores must have 2 dimension"),
    (dict(scores=torch.tensor([[0.0] * 5 + [float("nan")], [0.0] * 6])), ValueError, "scores must be finite"),
    (dict(scores=torch.tensor([[0.0] * 6, [float("inf")] + [0.0] * 5])), ValueError, "scores must be finite"),
    (dict(segments=torch.tensor([[0.0, 1.0, 2.0]])), TypeError, "segments must have dtype"),
    (dict(segments=torch.tensor([[0, 1]])), ValueError, "segments must have last dimension 3"),
    (dict(segments=torch.tensor([0, 1, 2])), ValueError, "segments must have 2 dimension"),
    (dict(segments=torch.tensor([[0, 1, 2], [2, 0, 0]])), ValueError, r"batch index in \[0, 2\), row 1"),
    (dict(segments=torch.tensor([[-1, 0, 0]])), ValueError, "batch index"),
    (dict(segments=torch.tensor([[0, 3, 2]])), ValueError, "start <= end, row 0"),
    (dict(segments=torch.tensor([[0, -1, 2]])), ValueError, "start >= 0"),
    (dict(segments=torch.tensor([[0, 0, 6]])), ValueError, "end before their video's length, row 0"),
    (dict(segments=torch.tensor([[1, 0, 4]]), lengths=torch.tensor([6, 4])), ValueError, "video 1 has length 4"),
    (dict(lengths=torch.tensor([6])), ValueError, r"lengths must have shape \(2,\)"),
    (dict(lengths=torch.tensor([6.0, 6.0])), TypeError, "lengths must have dtype"),
    (dict(lengths=torch.tensor([7, 6])), ValueError, r"lengths must be in \[0, 6\]"),
    (dict(lengths=torch.tensor([6, -1])), ValueError, "lengths must be in"),
    (dict(outer_ratio=-0.1), ValueError, "outer_ratio must be >= 0"),
    (dict(outer_ratio=float("nan")), ValueError, "outer_ratio must be finite"),
    (dict(outer_ratio=float("inf")), ValueError, "outer_ratio must be finite"),
    (dict(outer_ratio="0.25"), TypeError, "outer_ratio must be a real number"),
    (dict(scores=[[0.0] * 6] * 2), TypeError, "scores must be a torch.Tensor"),
])
def test_bad_input(kwargs, error, match):
    args = dict(scores=torch.zeros(2, 6), segments=torch.tensor([[0, 1, 2], [1, 0, 5]]), lengths=None)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        oic_scores(**args)
