import itertools
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import optimal_sequence_search
from ptal_core.reference.optimal_sequence_search import build_transcript
from tests.ops.backends import device_of, fast_backends, op_backend, runs_cuda_kernels

BACKENDS = fast_backends("optimal_sequence_search")
BEAM_BACKENDS = [param for param in BACKENDS if not runs_cuda_kernels(param.values[0])]  # the beam runs on the CPU


def exact_oic(p: list[Fraction], start: int, end: int, outer_ratio: Fraction) -> Fraction:
    """OIC by its definition, in exact arithmetic."""
    size = end - start + 1
    outer_start = max(0, int(start - outer_ratio * size))
    outer_end = min(len(p) - 1, int(end + outer_ratio * size))
    outer = p[outer_start:start] + p[end + 1:outer_end + 1]
    inner = sum(p[start:end + 1]) / size
    return inner - (sum(outer) / len(outer) if outer else 0)


def segments_of(labels):
    """Maximal runs of equal labels: [(label, start, end)]."""
    out, start = [], 0
    for t in range(1, len(labels) + 1):
        if t == len(labels) or labels[t] != labels[start]:
            out.append((labels[start], start, t - 1))
            start = t
    return out


def admissible(labels, action, background):
    """A labelling follows the seeds iff action seeds are 1, background seeds 0, every action segment holds
    exactly one run of action seeds and every background segment at least one background seed."""
    if any(a and not l for a, l in zip(action, labels)) or any(b and l for b, l in zip(background, labels)):
        return False
    for label, start, end in segments_of(labels):
        inside = action[start:end + 1]
        if label == 1 and sum(1 for i, a in enumerate(inside) if a and (i == 0 or not inside[i - 1])) != 1:
            return False
        if label == 0 and not any(background[start:end + 1]):
            return False
    return True


def brute_force(cas: list[float], action, background, outer_ratio=0.25):
    """All optimal labellings (exact mean OIC) and that optimum, over all 2^T labellings; plus the runner-up."""
    p = [Fraction(v) for v in cas]
    q = [1 - v for v in p]
    scored = []
    for labels in itertools.product((0, 1), repeat=len(cas)):
        if admissible(labels, action, background):
            segs = segments_of(labels)
            total = sum(exact_oic(p if label else q, s, e, Fraction(outer_ratio)) for label, s, e in segs)
            scored.append((total / len(segs), labels))
    best = max(score for score, _ in scored)
    optimal = [labels for score, labels in scored if score == best]
    runner_up = max((score for score, _ in scored if score != best), default=None)
    return best, optimal, runner_up


def starts_of(labels):
    return [start for _, start, _ in segments_of(labels)]


@st.composite
def small_search(draw, max_length=14):
    """One video·class with random seeds: 1-3 points, background seeds, some other-class seeds."""
    length = draw(st.integers(1, max_length))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    cas = (torch.randint(0, 9, (length,), generator=gen) / 8.0 if draw(st.booleans())
           else torch.rand(length, generator=gen, dtype=torch.float64))
    action = [False] * length
    for t in draw(st.lists(st.integers(0, length - 1), min_size=1, max_size=3)):
        action[t] = True
    free = [t for t in range(length) if not action[t]]
    background = [False] * length
    other = [False] * length
    for t in draw(st.lists(st.sampled_from(free), max_size=4)) if free else []:
        background[t] = True
    for t in draw(st.lists(st.sampled_from(free), max_size=2)) if free else []:
        other[t] = not background[t]
    return cas.double(), action, background, other


def run(backend, cas, act_seed, bkg_seed, labels, lengths=None, **kwargs):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    lengths = None if lengths is None else lengths.to(device)
    pseudo, score = optimal_sequence_search(cas.to(device), act_seed.to(device), bkg_seed.to(device),
                                            labels.to(device), lengths, backend=op_backend(backend), **kwargs)
    assert pseudo.dtype == torch.uint8 and score.dtype == cas.dtype
    return pseudo.cpu(), score.cpu()


def as_batch(cas, action, background, other):
    """One video, two classes: class 0 searched, class 1 holding the other-class seeds."""
    length = len(action)
    full = torch.zeros(1, length, 3, dtype=torch.float64)
    full[0, :, 0] = cas
    act_seed = torch.zeros(1, length, 2)
    act_seed[0, :, 0] = torch.tensor(action, dtype=torch.float64)
    act_seed[0, :, 1] = torch.tensor(other, dtype=torch.float64)
    labels = torch.tensor([[1.0, 0.0]])  # class 1 is not labelled: its seeds only act as background for class 0
    return full, act_seed, torch.tensor([background], dtype=torch.float64), labels


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
@settings(max_examples=150, deadline=None)
@given(case=small_search())
def test_exact_search_equals_brute_force(backend, case):
    cas, action, background, other = case
    background_for_class = [b or o for b, o in zip(background, other)]
    try:
        build_transcript(action, background_for_class)
    except ValueError:
        with pytest.raises(ValueError, match="no background seed between"):
            run(backend, *as_batch(cas, action, background, other))
        return
    best, optimal, runner_up = brute_force(cas.tolist(), action, background_for_class)
    pseudo, score = run(backend, *as_batch(cas, action, background, other))
    labels = tuple(pseudo[0, :, 0].tolist())
    assert score.item() == pytest.approx(float(best), abs=1e-12)
    assert labels in optimal or (runner_up is not None and float(best - runner_up) < 1e-12)
    if len(optimal) > 1 and all(v * 8 == int(v * 8) for v in cas.tolist()):
        # Eighths: every OIC total here is computed exactly enough that ties are real ties.
        assert starts_of(labels) == min(starts_of(o) for o in optimal)


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_ties_go_to_the_earliest_boundaries(backend):
    # Constant scores: every OIC is 0 or 1/2 exactly, so many labellings tie.
    cas, action, background = [0.5] * 10, [False] * 10, [False] * 10
    action[4] = True
    background[0] = background[8] = True
    best, optimal, _ = brute_force(cas, action, background)
    assert len(optimal) > 1
    pseudo, _ = run(backend, *as_batch(torch.tensor(cas, dtype=torch.float64), action, background, [False] * 10))
    assert starts_of(tuple(pseudo[0, :, 0].tolist())) == min(starts_of(o) for o in optimal)


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_hand_checked_single_point(backend):
    # cas = 1 on [3, 5], 0 elsewhere, one point at 4, background seeds at 0 and 9: the action segment [3, 5]
    # scores inner 1 - outer 0 = 1; the background segments [0, 2] and [6, 9] score 1 - 0 = 1 too.
    cas = torch.zeros(10, dtype=torch.float64)
    cas[3:6] = 1.0
    action = [t == 4 for t in range(10)]
    background = [t in (0, 9) for t in range(10)]
    pseudo, score = run(backend, *as_batch(cas, action, background, [False] * 10))
    assert pseudo[0, :, 0].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]
    assert score.item() == pytest.approx(1.0)


def lacp_like_batch(batch, max_length, num_classes, seed):
    """Smooth random CAS, a few points per labelled class, background seeds between and around them."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_length + 1, (batch,), generator=gen)
    walk = torch.cumsum(torch.randn(batch, max_length, num_classes + 1, generator=gen) * 0.4, 1)
    cas = torch.sigmoid(walk)
    act_seed = torch.zeros(batch, max_length, num_classes)
    bkg_seed = torch.zeros(batch, max_length)
    labels = torch.zeros(batch, num_classes)
    for v in range(batch):
        length = int(lengths[v])
        order = torch.randperm(length, generator=gen).tolist()
        points = sorted(order[:max(1, min(length // 4, 6))])
        for t in points:
            c = int(torch.randint(0, num_classes, (1,), generator=gen))
            act_seed[v, t, c] = 1
            labels[v, c] = 1
            if t + 1 < length and torch.rand(1, generator=gen) < 0.5:
                act_seed[v, t + 1, c] = 1  # extra action seeds make runs
        free = [t for t in range(length) if not act_seed[v, t].any()]
        for t in free:
            if torch.rand(1, generator=gen) < 0.15:
                bkg_seed[v, t] = 1
        for a, b in zip(points, points[1:]):  # guarantee a background seed in every gap
            gap = [t for t in free if a < t < b]
            if gap and not bkg_seed[v, gap].any():
                bkg_seed[v, gap[len(gap) // 2]] = 1
    return cas, act_seed, bkg_seed, labels, lengths


def searchable(act_seed, bkg_seed, lengths):
    """Drop the classes whose runs touch without a background seed between them (their search raises)."""
    for v in range(act_seed.shape[0]):
        length = int(lengths[v])
        for c in range(act_seed.shape[2]):
            action = act_seed[v, :length, c].bool().tolist()
            if any(action):
                other = (act_seed[v, :length].bool().any(1) & ~act_seed[v, :length, c].bool()).tolist()
                background = [bool(b) or o for b, o in zip(bkg_seed[v, :length].tolist(), other)]
                try:
                    build_transcript(action, background)
                except ValueError:
                    act_seed[v, :, c] = 0
    return act_seed


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_length=st.sampled_from([1, 2, 5, 30, 120]),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_backend_equals_reference_on_lacp_like_batches(backend, seed, max_length, dtype):
    cas, act_seed, bkg_seed, labels, lengths = lacp_like_batch(4, max_length, 3, seed)
    act_seed = searchable(act_seed, bkg_seed, lengths)
    cas = cas.to(dtype)
    expected = run("reference", cas, act_seed, bkg_seed, labels, lengths)
    got = run(backend, cas, act_seed, bkg_seed, labels, lengths)
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-12 if dtype == torch.float64 else 1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_videos(backend):
    cas, act_seed, bkg_seed, labels, lengths = lacp_like_batch(2, 3000, 2, seed=5)
    lengths[0] = 3000
    act_seed = searchable(act_seed, bkg_seed, lengths)
    expected = run("reference", cas, act_seed, bkg_seed, labels, lengths)
    got = run(backend, cas, act_seed, bkg_seed, labels, lengths)
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)
    if not runs_cuda_kernels(backend):
        expected = run("reference", cas, act_seed, bkg_seed, labels, lengths, method="beam")
        got = run(backend, cas, act_seed, bkg_seed, labels, lengths, method="beam")
        assert torch.equal(got[0], expected[0])
        torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_unsearched_classes_and_empty_videos(backend):
    cas = torch.rand(2, 6, 3)
    act_seed = torch.zeros(2, 6, 2)
    act_seed[0, 2, 1] = 1  # a seed of an unlabelled class: not searched
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # a labelled class without seeds: not searched
    pseudo, score = run(backend, cas, act_seed, torch.zeros(2, 6), labels)
    assert not pseudo.any() and score.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
@pytest.mark.parametrize("shape", [(0, 5, 2), (2, 0, 2), (2, 5, 0)])
def test_empty_batches(backend, shape):
    batch, length, classes = shape
    pseudo, score = run(backend, torch.rand(batch, length, classes + 1), torch.zeros(shape), torch.zeros(batch, length),
                        torch.ones(batch, classes))
    assert pseudo.shape == shape and score.tolist() == [0.0] * batch


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_labels_stop_at_the_video_length(backend):
    cas = torch.full((1, 8, 2), 0.9)
    act_seed = torch.zeros(1, 8, 1)
    act_seed[0, 1, 0] = 1
    pseudo, _ = run(backend, cas, act_seed, torch.zeros(1, 8), torch.ones(1, 1), torch.tensor([5]))
    assert pseudo[0, :, 0].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_gap_without_background_seed_is_an_error(backend):
    act_seed = torch.zeros(1, 6, 1)
    act_seed[0, 1, 0] = act_seed[0, 4, 0] = 1
    with pytest.raises(ValueError, match="video 0, class 0: .*no background seed between"):
        run(backend, torch.rand(1, 6, 2), act_seed, torch.zeros(1, 6), torch.ones(1, 1))


@pytest.mark.parametrize("change, error, match", [
    (dict(cas=torch.rand(1, 6, 3)), ValueError, r"act_seed must have shape \(1, 6, 2\)"),
    (dict(cas=torch.rand(1, 6, 2).half()), TypeError, "cas must have dtype"),
    (dict(bkg_seed=torch.zeros(1, 5)), ValueError, r"bkg_seed must have shape \(1, 6\)"),
    (dict(video_labels=torch.ones(2, 1)), ValueError, r"video_labels must have shape \(1, 1\)"),
    (dict(act_seed=torch.full((1, 6, 1), 0.5)), ValueError, "act_seed must hold only 0 and 1"),
    (dict(lengths=torch.tensor([7])), ValueError, r"lengths must be in \[0, 6\]"),
    (dict(lengths=torch.tensor([1])), ValueError, "act_seed: video 0 has a nonzero entry at snippet 2, past its length 1"),
    (dict(bkg_seed=torch.tensor([[0.0, 0.0, 1.0, 0, 0, 0]])), ValueError, "both an action seed and a background"),
    (dict(cas=torch.full((1, 6, 2), float("nan"))), ValueError, "cas must be finite"),
    (dict(method="viterbi"), ValueError, "method must be one of"),
    (dict(outer_ratio=-0.25), ValueError, "outer_ratio must be >= 0"),
    (dict(budget=0), ValueError, "budget must be >= 1"),
])
def test_bad_input(change, error, match):
    act_seed = torch.zeros(1, 6, 1)
    act_seed[0, 2, 0] = 1
    args = dict(cas=torch.rand(1, 6, 2), act_seed=act_seed, bkg_seed=torch.zeros(1, 6), video_labels=torch.ones(1, 1))
    args.update(change)
    with pytest.raises(error, match=match):
        optimal_sequence_search(**args)


def quantized_batch(seed, max_length):
    """LACP-like seeds on CAS values in eighths: many exactly tied hypotheses, which stresses the beam's
    tie rules (the budget cut, the release-key order, the last best one winning)."""
    cas, act_seed, bkg_seed, labels, lengths = lacp_like_batch(3, max_length, 2, seed)
    return torch.round(cas * 8) / 8, searchable(act_seed, bkg_seed, lengths), bkg_seed, labels, lengths


@pytest.mark.parametrize("backend", BEAM_BACKENDS)
@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_length=st.sampled_from([1, 3, 12, 60, 250]),
       quantized=st.booleans(), budget=st.sampled_from([1, 3, 25]), thresh=st.sampled_from([0.1, -1.0, 0.5]))
def test_beam_equals_reference_beam(backend, seed, max_length, quantized, budget, thresh):
    if quantized:
        cas, act_seed, bkg_seed, labels, lengths = quantized_batch(seed, max_length)
    else:
        cas, act_seed, bkg_seed, labels, lengths = lacp_like_batch(3, max_length, 2, seed)
        act_seed = searchable(act_seed, bkg_seed, lengths)
    kwargs = dict(method="beam", budget=budget, thresh=thresh)
    expected = run("reference", cas, act_seed, bkg_seed, labels, lengths, **kwargs)
    got = run(backend, cas, act_seed, bkg_seed, labels, lengths, **kwargs)
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", ["reference", *BEAM_BACKENDS])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_length=st.sampled_from([4, 30, 150]), budget=st.sampled_from([1, 5, 25]))
def test_exact_objective_is_at_least_the_beams(backend, seed, max_length, budget):
    cas, act_seed, bkg_seed, labels, lengths = lacp_like_batch(3, max_length, 2, seed)
    act_seed = searchable(act_seed, bkg_seed, lengths).double()
    cas = cas.double()
    for c in range(2):  # per class: the video score averages the searched classes
        only = torch.zeros_like(labels)
        only[:, c] = labels[:, c]
        _, exact = run(backend, cas, act_seed, bkg_seed, only, lengths)
        _, beam = run(backend, cas, act_seed, bkg_seed, only, lengths, method="beam", budget=budget)
        assert bool((exact >= beam - 1e-12).all())


@pytest.mark.parametrize("backend", ["reference", *BEAM_BACKENDS])
def test_beam_keeps_its_best_hypothesis_whatever_the_threshold(backend):
    # A threshold no running score reaches: every snippet prunes all hypotheses but the best one, yet
    # the result is an admissible labelling.
    cas = torch.rand(1, 40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    action = [t in (10, 25) for t in range(40)]
    background = [t in (3, 18, 33) for t in range(40)]
    batch = as_batch(cas[0, :, 0], action, background, [False] * 40)
    pseudo, _ = run(backend, *batch, method="beam", thresh=100.0)
    assert admissible(tuple(pseudo[0, :, 0].tolist()), action, background)
    assert [run_[0] for run_ in segments_of(pseudo[0, :, 0].tolist())] == [0, 1, 0, 1, 0]


@pytest.mark.parametrize("method", ["exact", "beam"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_on_select_seeds_of_the_real_thumos14_points(backend, method):
    """The real point structure of THUMOS14's training videos (packaged annotations; every 10th video),
    seeds from select_seeds on a smooth random CAS, as LACP's training makes them."""
    if method == "beam" and runs_cuda_kernels(backend):
        pytest.skip("the beam search runs on the CPU")
    from ptal.data.annotations import PACKAGED_THUMOS14
    from ptal.ops import select_seeds
    from tests.ops.sequences import thumos14_seed_batch

    cas, points, lengths = thumos14_seed_batch(torch.Generator().manual_seed(3), PACKAGED_THUMOS14)
    cas, points, lengths = cas[::10], points[::10], lengths[::10]
    act_seed, bkg_seed = select_seeds(cas, points, lengths)
    labels = points.amax(1)
    expected = run("reference", cas, act_seed, bkg_seed, labels, lengths, method=method)
    got = run(backend, cas, act_seed, bkg_seed, labels, lengths, method=method)
    assert expected[0].any()
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)
