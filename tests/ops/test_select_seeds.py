import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import select_seeds
from tests.ops.backends import device_of, fast_backends
from tests.ops.sequences import POINT_PATTERNS, seed_batch, thumos14_seed_batch

BACKENDS = fast_backends("select_seeds")
ALL = ["reference", *BACKENDS]


def run(backend, cas, points, lengths=None, **kwargs):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    lengths = None if lengths is None else lengths.to(device)
    act_seed, bkg_seed = select_seeds(cas.to(device), points.to(device), lengths, backend=backend, **kwargs)
    assert act_seed.dtype == cas.dtype and bkg_seed.dtype == cas.dtype
    assert act_seed.shape == points.shape and bkg_seed.shape == cas.shape[:2]
    return act_seed.cpu().to(torch.int64), bkg_seed.cpu().to(torch.int64)


def one_video(background, points, classes=2, dtype=torch.float32):
    """cas (1, T, classes + 1) with the given background column, and points {snippet: [classes]}."""
    cas = torch.zeros((1, len(background), classes + 1), dtype=dtype)
    cas[0, :, -1] = torch.tensor(background, dtype=dtype)
    point_labels = torch.zeros((1, len(background), classes), dtype=dtype)
    for snippet, labels in points.items():
        point_labels[0, snippet, labels] = 1
    return cas, point_labels


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_one_point(backend, dtype):
    # Left of the point: the candidate at 0 is the seed block [0, 0]; the walk from 3 copies 3 and 2 and
    # stops at b = 0.3. Right: the candidate at 8 starts the seed block [8, 9] (9 is below 0.95 but after
    # it); the walk from 5 copies 5 and 6 and stops at b = 0.5.
    cas, points = one_video([0.97, 0.3, 0.05, 0.02, 0.6, 0.05, 0.08, 0.5, 0.96, 0.2], {4: [0]}, dtype=dtype)
    act_seed, bkg_seed = run(backend, cas, points)
    assert bkg_seed[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert act_seed[0, :, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 0]
    assert act_seed[0, :, 1].tolist() == [0] * 10


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_gaps_ties_and_values_at_the_thresholds(backend, dtype):
    # Left [0, 2): no candidate, argmax of a tie is the first snippet -> seeds [0, 0]; b(1) = 0.5 stops
    # the walk. Gap (2, 9): two candidates exactly at 0.95 (4 and 7) -> seeds [4, 7]; b(3) = 0.1 exactly
    # is walkable (<=), so 3 copies point 2 (class 1); 8 copies point 9 (classes 0 and 1). Right (9, 12):
    # no candidate, tied argmax 10 -> seeds [10, 11], and the walk from 10 stops at once.
    background = [0.5, 0.5, 0.7, 0.1, 0.95, 0.4, 0.4, 0.95, 0.0, 0.3, 0.3, 0.3]
    cas, points = one_video(background, {2: [1], 9: [0, 1]}, dtype=dtype)
    act_seed, bkg_seed = run(backend, cas, points)
    assert bkg_seed[0].tolist() == [1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1]
    assert act_seed[0, :, 0].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert act_seed[0, :, 1].tolist() == [0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0]


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_adjacent_points_at_both_ends_and_single_candidates(backend):
    # Points at 0 and 8 = T - 1 (no left or right stretch), 0 and 1 adjacent (no gap). Gap (1, 5): one
    # candidate (3) -> only it; the walk from 2 stops at b = 0.2; 4 copies point 5. Gap (5, 8): no
    # candidate, tied argmax 6 -> seed 6, so point 5 cannot walk; 7 copies point 8.
    background = [0.0, 0.0, 0.2, 0.99, 0.05, 0.0, 0.05, 0.05, 0.0]
    cas, points = one_video(background, {0: [0], 1: [1], 5: [0], 8: [1]})
    act_seed, bkg_seed = run(backend, cas, points)
    assert bkg_seed[0].tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0]
    assert act_seed[0, :, 0].tolist() == [1, 0, 0, 0, 1, 1, 0, 0, 0]
    assert act_seed[0, :, 1].tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_batch_with_lengths_and_no_points(backend):
    # Video 0 (length 6 of 8): candidates 0 and 2 left of the point -> seeds [0, 2], the walk copies 3;
    # right of it, no candidate in [5, 6) -> seeds [5, 5]. Video 1: no point -> all background within its
    # length 5. Video 2: length 0. Video 3: one snippet, holding a point.
    cas = torch.zeros((4, 8, 3))
    cas[0, :, -1] = torch.tensor([0.96, 0.5, 0.97, 0.05, 0.0, 0.0, 0.99, 0.99])
    cas[1, :, -1] = 0.5
    points = torch.zeros((4, 8, 2))
    points[0, 4, 1] = points[3, 0, 0] = 1
    lengths = torch.tensor([6, 5, 0, 1])
    act_seed, bkg_seed = run(backend, cas, points, lengths)
    assert bkg_seed.tolist() == [[1, 1, 1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0], [0] * 8, [0] * 8]
    assert act_seed[0, :, 1].tolist() == [0, 0, 0, 1, 1, 0, 0, 0]
    assert act_seed[3, :, 0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert int(act_seed.sum()) == 3


@pytest.mark.parametrize("backend", ALL)
def test_thresholds_are_arguments(backend):
    cas, points = one_video([0.8, 0.3, 0.25, 0.6], {3: [0]})
    assert run(backend, cas, points)[1][0].tolist() == [1, 0, 0, 0]  # no candidate: argmax 0
    # Candidate 0 (0.8 >= 0.5) -> seeds [0, 0]; b = 0.25 and 0.3 (equal) are <= 0.3 -> walk to 1.
    act_seed, bkg_seed = run(backend, cas, points, bkg_thresh=0.5, act_thresh=0.3)
    assert bkg_seed[0].tolist() == [1, 0, 0, 0]
    assert act_seed[0, :, 0].tolist() == [0, 1, 1, 1]
    act_seed, bkg_seed = run(backend, cas, points, bkg_thresh=0.9, act_thresh=0.29)
    assert act_seed[0, :, 0].tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("backend", ALL)
def test_point_dtypes_and_padding_are_ignored(backend):
    gen = torch.Generator().manual_seed(5)
    cas, points, lengths = seed_batch(gen, [40, 25, 33], 3, ["random", "stacked", "ends"])
    expected = run(backend, cas, points, lengths)
    for dtype in (torch.bool, torch.uint8, torch.float64):
        assert all(torch.equal(a, b) for a, b in zip(run(backend, cas, points.to(dtype), lengths), expected))
    padded = cas.clone()
    padded[1, 25:] = float("nan")  # past video 1's length: never read
    assert all(torch.equal(a, b) for a, b in zip(run(backend, padded, points, lengths), expected))
    for video, length in enumerate(lengths.tolist()):
        alone = run(backend, cas[video:video + 1, :length], points[video:video + 1, :length])
        assert torch.equal(alone[0][0], expected[0][video, :length])
        assert torch.equal(alone[1][0], expected[1][video, :length])


@st.composite
def seed_inputs(draw, max_time: int):
    """A batch of videos of different lengths with LACP-like points and smooth (often tied) CAS."""
    lengths = draw(st.lists(st.integers(0, max_time), min_size=1, max_size=4))
    patterns = draw(st.lists(st.sampled_from(POINT_PATTERNS), min_size=len(lengths), max_size=len(lengths)))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    levels = draw(st.sampled_from([0, 20, 4]))
    return seed_batch(gen, lengths, draw(st.integers(1, 5)), patterns, dtype, levels)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@given(data=seed_inputs(max_time=300), thresholds=st.sampled_from([(0.95, 0.1), (0.5, 0.5), (0.75, 0.25)]))
def test_backend_equals_reference(backend, data, thresholds):
    cas, points, lengths = data
    kwargs = dict(bkg_thresh=thresholds[0], act_thresh=thresholds[1])
    assert all(torch.equal(a, b) for a, b in zip(run(backend, cas, points, lengths, **kwargs),
                                                 run("reference", cas, points, lengths, **kwargs)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_videos(backend):
    gen = torch.Generator().manual_seed(7)
    cas, points, lengths = seed_batch(gen, [3000, 1, 2999, 1700], 20, ["random", "one", "stacked", "none"])
    assert all(torch.equal(a, b) for a, b in zip(run(backend, cas, points, lengths),
                                                 run("reference", cas, points, lengths)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_thumos14_train_points(backend):
    # The 200 train videos' real points (the Triton interpreter takes a tenth of them).
    cas, points, lengths = thumos14_seed_batch(torch.Generator().manual_seed(8))
    if backend == "triton" and not torch.cuda.is_available():
        cas, points, lengths = cas[::10], points[::10], lengths[::10]
    act_seed, bkg_seed = run(backend, cas, points, lengths)
    expected = run("reference", cas, points, lengths)
    assert torch.equal(act_seed, expected[0]) and torch.equal(bkg_seed, expected[1])
    assert int(bkg_seed.sum()) > 0 and int(act_seed.sum()) > int(points.sum())


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(cas=torch.zeros(2, 6, 3).tolist()), TypeError, "cas must be a torch.Tensor"),
    (dict(cas=torch.zeros(2, 6, 3, dtype=torch.float16)), TypeError, "cas must have dtype"),
    (dict(cas=torch.zeros(6, 3)), ValueError, "cas must have 3 dimension"),
    (dict(cas=torch.zeros(2, 6, 4)), ValueError, r"points must have shape \(2, 6, 3\)"),
    (dict(cas=torch.zeros(2, 6, 1), points=torch.zeros(2, 6, 0)), ValueError, "C \\+ 1 >= 2 channels"),
    (dict(points=torch.zeros(2, 6, 2, dtype=torch.int64)), TypeError, "points must have dtype"),
    (dict(points=torch.full((2, 6, 2), 0.5)), ValueError, "points must hold only 0 and 1"),
    (dict(lengths=torch.tensor([6, 4])), ValueError, "points: video 1 has a nonzero entry at snippet 5, past its length 4"),
    (dict(lengths=torch.tensor([6, 7])), ValueError, r"lengths must be in \[0, 6\]"),
    (dict(lengths=torch.tensor([6, -1])), ValueError, r"lengths must be in \[0, 6\]"),
    (dict(lengths=torch.tensor([6])), ValueError, r"lengths must have shape \(2,\)"),
    (dict(lengths=torch.tensor([6.0, 6.0])), TypeError, "lengths must have dtype"),
    (dict(cas=torch.zeros(2, 6, 3).index_fill_(1, torch.tensor([2]), float("nan"))), ValueError,
     r"cas\[..., C\] \(the background score\) must be finite"),
    (dict(bkg_thresh=float("nan")), ValueError, "bkg_thresh must be finite"),
    (dict(act_thresh="0.1"), TypeError, "act_thresh must be a real number"),
    (dict(backend="cuda"), RuntimeError, "select_seeds has no 'cuda' backend"),
])
def test_bad_input(kwargs, error, match):
    points = torch.zeros(2, 6, 2)
    points[1, 5, 0] = 1
    args = dict(cas=torch.zeros(2, 6, 3), points=points, lengths=None)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        select_seeds(**args)


def test_empty_batch_and_empty_videos():
    act_seed, bkg_seed = select_seeds(torch.zeros(0, 5, 3), torch.zeros(0, 5, 2))
    assert act_seed.shape == (0, 5, 2) and bkg_seed.shape == (0, 5)
    act_seed, bkg_seed = select_seeds(torch.zeros(2, 0, 3, dtype=torch.float64), torch.zeros(2, 0, 2))
    assert act_seed.shape == (2, 0, 2) and bkg_seed.dtype == torch.float64
