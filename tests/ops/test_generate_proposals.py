import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import generate_proposals
from ptal.ops.internal import generate_proposals_padded
from ptal_core.reference.generate_proposals import proposal_capacity
from tests.ops.backends import device_of, fast_backends, table
from tests.gpu import needs_gpu

BACKENDS = fast_backends("generate_proposals")
ALL = ["reference", *BACKENDS]
GPU_BACKENDS = [param for param in BACKENDS if param.id != "cpu"]


def run(backend, start_prob, end_prob, lengths=None, **kwargs):
    """generate_proposals on the backend's device; returns (proposals, scores) on the CPU."""
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    lengths = None if lengths is None else lengths.to(device)
    proposals, scores = generate_proposals(start_prob.to(device), end_prob.to(device), lengths, backend=backend,
                                           **kwargs)
    assert proposals.dtype == torch.int64 and proposals.shape == (scores.shape[0], 3)
    assert scores.dtype == start_prob.dtype and proposals.device.type == scores.device.type == device.type
    return proposals.cpu(), scores.cpu()


def run_padded(backend, start_prob, end_prob, lengths=None, **kwargs):
    """The padded form on the backend's device, checked against generate_proposals on the same backend: shapes
    (B, C, 2), (B, C), (B,) with C = proposal_capacity; row r < counts[b] of video b is the r-th row of video b
    (same pair, same score bits); the rows after it are zeros. Returns (pairs, scores, counts) on the CPU."""
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    pairs, scores, counts = generate_proposals_padded(start_prob.to(device), end_prob.to(device),
                                                      None if lengths is None else lengths.to(device),
                                                      backend=backend, **kwargs)
    num_videos, num_snippets = start_prob.shape
    capacity = proposal_capacity(num_snippets, **dict(d_min=1, d_max=64, max_proposals=1000) | kwargs)
    assert pairs.shape == (num_videos, capacity, 2) and scores.shape == (num_videos, capacity)
    assert counts.shape == (num_videos,) and pairs.dtype == counts.dtype == torch.int64
    assert scores.dtype == start_prob.dtype and {pairs.device.type, scores.device.type, counts.device.type} == {
        device.type}
    pairs, scores, counts = pairs.cpu(), scores.cpu(), counts.cpu()
    proposals, expected_scores = run(backend, start_prob, end_prob, lengths, **kwargs)
    assert torch.equal(counts, torch.bincount(proposals[:, 0], minlength=num_videos))
    kept = torch.arange(capacity) < counts[:, None]  # row-major: by batch then rank, as the compacted rows
    assert torch.equal(pairs[kept], proposals[:, 1:]) and torch.equal(scores[kept], expected_scores)
    assert pairs[~kept].eq(0).all() and scores[~kept].eq(0).all()
    return pairs, scores, counts


def pairs_of(proposals):
    return [tuple(row) for row in proposals.tolist()]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ALL)
def test_hand_checked(backend, dtype):
    # starts: 1 (local max), 3 (local max), 5 (local max at the edge: 0.4 > 0.1 and > -inf); 0.45 = half max.
    ps = torch.tensor([[0.1, 0.9, 0.2, 0.3, 0.1, 0.4]], dtype=dtype)
    # ends: 0 (0.2 > -inf and > 0.1), 3, 5; not 2 (plateau 0.1, 0.1) nor 4 (0.3 <= 0.4 = half max).
    pe = torch.tensor([[0.2, 0.1, 0.1, 0.8, 0.3, 0.6]], dtype=dtype)
    proposals, scores = run(backend, ps, pe)
    assert pairs_of(proposals) == [(0, 1, 3), (0, 1, 5), (0, 3, 5)]  # scores 0.72, 0.54, 0.18
    assert torch.equal(scores, torch.stack([ps[0, 1] * pe[0, 3], ps[0, 1] * pe[0, 5], ps[0, 3] * pe[0, 5]]))
    assert pairs_of(run(backend, ps, pe, d_max=2)[0]) == [(0, 1, 3), (0, 3, 5)]
    assert pairs_of(run(backend, ps, pe, d_min=3)[0]) == [(0, 1, 5)]
    assert pairs_of(run(backend, ps, pe, max_proposals=2)[0]) == [(0, 1, 3), (0, 1, 5)]
    # d_min = 0: a candidate start that is also a candidate end is a one-snippet proposal (3, 3: 0.3 * 0.8, 5, 5).
    assert pairs_of(run(backend, ps, pe, d_min=0)[0]) == [(0, 1, 3), (0, 1, 5), (0, 3, 3), (0, 5, 5), (0, 3, 5)]


@pytest.mark.parametrize("backend", ALL)
def test_ties_plateaus_and_tiny_videos(backend):
    # Equal probabilities > 0: every snippet is a candidate (p > p / 2), all scores tie: (start, end) order.
    half = torch.full((1, 4), 0.5)
    proposals, scores = run(backend, half, half)
    assert pairs_of(proposals) == [(0, 0, 1), (0, 0, 2), (0, 0, 3), (0, 1, 2), (0, 1, 3), (0, 2, 3)]
    assert scores.eq(0.25).all()
    assert run(backend, torch.zeros(1, 4), torch.zeros(1, 4))[0].shape == (0, 3)  # all 0: no candidate
    # A plateau is no local maximum: the starts are 4 only (0.2 < 0.5 = half max).
    ps = torch.tensor([[0.0, 0.2, 0.2, 0.0, 1.0, 0.0]])
    assert pairs_of(run(backend, ps, torch.full((1, 6), 0.5))[0]) == [(0, 4, 5)]
    # T = 2: start 0 (0.3 > 0.1), end 1 (0.2 > 0.1); T = 1: no pair fits.
    proposals, scores = run(backend, torch.tensor([[0.3, 0.1]]), torch.tensor([[0.1, 0.2]]))
    assert pairs_of(proposals) == [(0, 0, 1)] and torch.equal(scores, torch.tensor([0.3]) * torch.tensor([0.2]))
    assert run(backend, torch.tensor([[0.7]]), torch.tensor([[0.7]]))[0].shape == (0, 3)
    # Fewer pairs than max_proposals, videos of length 0 and 1, padding not read, output by batch then rank.
    ps = torch.tensor([[0.3, 0.1, 0.9], [0.9, 0.2, float("nan")], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0]])
    pe = torch.tensor([[0.1, 0.2, 0.3], [0.1, 0.8, 2.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0]])
    proposals, _ = run(backend, ps, pe, torch.tensor([3, 2, 0, 1]))
    assert pairs_of(proposals) == [(0, 0, 2), (0, 0, 1), (1, 0, 1)]


@st.composite
def batches(draw):
    """(start_prob, end_prob (B, T), lengths (B,)) on a coarse grid of values (ties and plateaus are common)
    or uniform at random."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    num_videos = draw(st.integers(1, 4))
    num_snippets = draw(st.sampled_from([1, 2, 3, 5, 17, 100]))
    lengths = torch.randint(0, num_snippets + 1, (num_videos,), generator=gen)
    lengths[0] = num_snippets
    if draw(st.booleans()):
        levels = draw(st.integers(1, 4))
        probs = [torch.randint(0, levels + 1, (num_videos, num_snippets), generator=gen).to(dtype) / levels
                 for _ in range(2)]
    else:
        probs = [torch.rand(num_videos, num_snippets, generator=gen, dtype=dtype) for _ in range(2)]
    return probs[0], probs[1], lengths


search_space = given(data=st.data(), d_min=st.sampled_from([0, 1, 1, 2, 5]),
                     d_span=st.sampled_from([0, 3, 63, 200]), max_proposals=st.sampled_from([1, 7, 1000]))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@search_space
def test_backend_equals_reference(backend, data, d_min, d_span, max_proposals):
    start_prob, end_prob, lengths = data.draw(batches())
    kwargs = dict(d_min=d_min, d_max=d_min + d_span, max_proposals=max_proposals)
    expected_proposals, expected_scores = run("reference", start_prob, end_prob, lengths, **kwargs)
    proposals, scores = run(backend, start_prob, end_prob, lengths, **kwargs)
    assert torch.equal(proposals, expected_proposals)
    assert torch.equal(scores, expected_scores)


@pytest.mark.parametrize("backend", ALL)
def test_padded_hand_checked_ties_plateaus_and_tiny_videos(backend):
    ps = torch.tensor([[0.1, 0.9, 0.2, 0.3, 0.1, 0.4]], dtype=torch.float64)
    pe = torch.tensor([[0.2, 0.1, 0.1, 0.8, 0.3, 0.6]], dtype=torch.float64)
    pairs, scores, counts = run_padded(backend, ps, pe, max_proposals=5)
    assert counts.tolist() == [3] and pairs[0].tolist() == [[1, 3], [1, 5], [3, 5], [0, 0], [0, 0]]
    assert run_padded(backend, ps, pe, max_proposals=2)[2].tolist() == [2]  # every row used
    half = torch.full((1, 4), 0.5)  # all ties: (start, end) order; capacity 8 > 6 pairs
    pairs, scores, counts = run_padded(backend, half, half, max_proposals=8)
    assert counts.tolist() == [6] and pairs[0, :6].tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert run_padded(backend, torch.zeros(1, 4), torch.zeros(1, 4))[2].tolist() == [0]  # no candidate
    run_padded(backend, torch.tensor([[0.0, 0.2, 0.2, 0.0, 1.0, 0.0]]), torch.full((1, 6), 0.5))  # plateau
    assert run_padded(backend, torch.tensor([[0.7]]), torch.tensor([[0.7]]))[0].shape == (1, 0, 2)  # T = 1: C = 0
    assert run_padded(backend, torch.zeros(0, 5), torch.zeros(0, 5))[0].shape == (0, 20, 2)  # no video
    # Videos of length 0 and 1 among longer ones, padding (NaN, 2.0) not read.
    ps = torch.tensor([[0.3, 0.1, 0.9], [0.9, 0.2, float("nan")], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0]])
    pe = torch.tensor([[0.1, 0.2, 0.3], [0.1, 0.8, 2.0], [0.5, 0.5, 0.5], [1.0, 0.0, 0.0]])
    pairs, scores, counts = run_padded(backend, ps, pe, torch.tensor([3, 2, 0, 1]))
    assert counts.tolist() == [2, 1, 0, 0] and pairs.shape == (4, 6, 2)


@pytest.mark.parametrize("backend", ALL)
@settings(max_examples=80, deadline=None)
@search_space
def test_padded_rows_are_the_compacted_rows(backend, data, d_min, d_span, max_proposals):
    start_prob, end_prob, lengths = data.draw(batches())
    run_padded(backend, start_prob, end_prob, lengths, d_min=d_min, d_max=d_min + d_span,
               max_proposals=max_proposals)


@pytest.mark.parametrize("num_snippets, kwargs, capacity", [
    (100, {}, 1000), (5, {}, 20), (1, {}, 0), (1, dict(d_min=0), 1), (5, dict(d_min=0, d_max=1), 10),
    (5, dict(d_min=5), 0), (10, dict(d_min=2, d_max=3), 20),
    (100, dict(max_proposals=7), 7)])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_padded_meta_shapes_are_static(num_snippets, kwargs, capacity, with_lengths):
    probs = torch.empty((3, num_snippets), dtype=torch.float64, device="meta")
    lengths = torch.empty(3, dtype=torch.int64, device="meta") if with_lengths else None
    pairs, scores, counts = generate_proposals_padded(probs, probs, lengths, **kwargs)
    assert pairs.shape == (3, capacity, 2) and scores.shape == (3, capacity) and counts.shape == (3,)
    assert pairs.dtype == counts.dtype == torch.int64 and scores.dtype == torch.float64
    assert pairs.device.type == scores.device.type == counts.device.type == "meta"


@pytest.mark.parametrize("backend", ALL)
def test_padded_opcheck(backend):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    gen = torch.Generator().manual_seed(3)
    start_prob, end_prob = torch.rand(2, 3, 12, generator=gen, dtype=torch.float64).to(device)
    torch.library.opcheck(torch.ops.ptal.generate_proposals_padded.default,
                          (start_prob, end_prob, torch.tensor([12, 7, 0], device=device), 1, 4, 5, backend))


@pytest.mark.parametrize("backend", [param for param in BACKENDS if param.id == "triton"])
def test_triton_blocks_split_long_durations(backend, monkeypatch):
    # Durations wider than a block of pairs: the scoring kernel splits them over several programs.
    import ptal_core.triton.generate_proposals as kernels

    monkeypatch.setattr(kernels, "PAIR_BLOCK", 16)
    gen = torch.Generator().manual_seed(5)
    start_prob, end_prob = torch.rand(2, 3, 60, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([60, 41, 7])
    kwargs = dict(d_min=2, d_max=50, max_proposals=300)
    expected = run("reference", start_prob, end_prob, lengths, **kwargs)
    got = run(backend, start_prob, end_prob, lengths, **kwargs)
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


@needs_gpu("needs a GPU (a 1 GiB pair table)")
@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_more_starts_than_a_second_grid_axis_holds(backend):
    # 65 600 snippets and durations up to 4 096: one start per block of pairs, more blocks than 65 535.
    gen = torch.Generator().manual_seed(6)
    start_prob, end_prob = torch.rand(2, 1, 65_600, generator=gen)
    kwargs = dict(d_min=1, d_max=4096, max_proposals=2000)
    expected = run("cpu", start_prob, end_prob, **kwargs)
    got = run(backend, start_prob, end_prob, **kwargs)
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_automatic_choice_on_cpu_is_the_compiled_module():
    assert table("generate_proposals").choose(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(start_prob=torch.zeros(2, 6, dtype=torch.float16)), TypeError, "start_prob must have dtype"),
    (dict(start_prob=torch.zeros(12)), ValueError, "start_prob must have 2 dimension"),
    (dict(end_prob=torch.zeros(2, 5)), ValueError, "end_prob must have the shape of start_prob"),
    (dict(end_prob=torch.zeros(2, 6, dtype=torch.float64)), TypeError, "end_prob must have the dtype"),
    (dict(start_prob=torch.full((2, 6), float("nan"))), ValueError, r"start_prob must be probabilities in \[0, 1\]"),
    (dict(end_prob=torch.full((2, 6), 1.5)), ValueError, "end_prob must be probabilities"),
    (dict(end_prob=torch.full((2, 6), -0.5)), ValueError, "end_prob must be probabilities"),
    (dict(d_min=-1), ValueError, "d_min must be >= 0"),
    (dict(d_min=3, d_max=2), ValueError, "d_max must be >= 3"),
    (dict(d_max=2.0), TypeError, "d_max must be an int"),
    (dict(max_proposals=0), ValueError, "max_proposals must be >= 1"),
    (dict(lengths=torch.tensor([7, 6])), ValueError, r"lengths must be in \[0, 6\]"),
    (dict(lengths=torch.tensor([6.0, 6.0])), TypeError, "lengths must have dtype"),
    (dict(start_prob=[[0.0] * 6] * 2), TypeError, "start_prob must be a torch.Tensor"),
])
def test_bad_input(kwargs, error, match):
    args = dict(start_prob=torch.zeros(2, 6), end_prob=torch.zeros(2, 6))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        generate_proposals(**args)
