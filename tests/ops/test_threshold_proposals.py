import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import threshold_proposals
from tests.ops.backends import device_of, fast_backends
from tests.ops.sequences import LACP_THRESHOLDS, smooth_scores, upsampled_cas
from tests.gpu import needs_gpu

BACKENDS = fast_backends("threshold_proposals")
ALL = ["reference", *BACKENDS]


def run(backend, scores, thresholds, lengths=None):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    lengths = None if lengths is None else lengths.to(device)
    if isinstance(thresholds, torch.Tensor):
        thresholds = thresholds.to(device)
    segments, index = threshold_proposals(scores.to(device), thresholds, lengths, return_threshold_index=True,
                                          backend=backend)
    assert segments.dtype == torch.int64 and index.dtype == torch.int64 and segments.shape == (index.shape[0], 4)
    return segments.cpu().tolist(), index.cpu().tolist()


def zeroed_runs(values, threshold):
    """LACP's rule, written out: zero the values below the threshold, then the runs of values > 0."""
    zeroed = [value if value >= threshold else 0.0 for value in values]
    found, start = [], None
    for t, value in enumerate([*zeroed, 0.0]):
        if value > 0 and start is None:
            start = t
        if not value > 0 and start is not None:
            found.append([start, t - 1])
            start = None
    return found


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("backend", ALL)
def test_hand_checked(backend, dtype):
    scores = torch.tensor([[[0.0, 0.9], [0.3, 0.9], [0.5, 0.9], [0.5, 0.9], [0.1, 0.9], [0.6, 0.9], [0.0, 0.9],
                            [0.7, 0.9]]], dtype=dtype)
    # Channel 0 at 0: zeros are out (value > 0) -> [1, 5], [7, 7]; at 0.5 (0.5 itself is in) -> [2, 3],
    # [5, 5], [7, 7]. Channel 1: the whole video at both thresholds.
    segments, index = run(backend, scores, [0.0, 0.5])
    assert segments == [[0, 0, 1, 5], [0, 0, 7, 7], [0, 0, 2, 3], [0, 0, 5, 5], [0, 0, 7, 7], [0, 1, 0, 7],
                        [0, 1, 0, 7]]
    assert index == [0, 0, 1, 1, 1, 0, 1]
    # Thresholds in the given order, repeats kept; a negative threshold acts as 0.
    segments, index = run(backend, scores[:, :, :1], torch.tensor([0.6, -1.0, 0.6], dtype=dtype))
    assert segments == [[0, 0, 5, 5], [0, 0, 7, 7], [0, 0, 1, 5], [0, 0, 7, 7], [0, 0, 5, 5], [0, 0, 7, 7]]
    assert index == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_lengths(backend):
    scores = torch.zeros((3, 6, 1))
    scores[:, :, 0] = torch.tensor([0.2, 0.8, 0.8, 0.8, 0.2, 0.8])
    scores[1, 3:] = float("nan")  # padding is never read
    # Video 1 (length 3) cuts the run [1, 3] at 2; video 2 has length 0.
    segments, index = run(backend, scores, [0.5], torch.tensor([6, 3, 0]))
    assert segments == [[0, 0, 1, 3], [0, 0, 5, 5], [1, 0, 1, 2]]
    assert index == [0, 0, 0]


@pytest.mark.parametrize("backend", ALL)
def test_empty_inputs(backend):
    assert run(backend, torch.rand(2, 5, 3), []) == ([], [])
    assert run(backend, torch.rand(0, 5, 3), [0.5]) == ([], [])
    assert run(backend, torch.rand(2, 0, 3), [0.5]) == ([], [])
    assert run(backend, torch.rand(2, 5, 0), [0.5]) == ([], [])
    assert run(backend, torch.zeros(2, 5, 3), [0.0, 0.5]) == ([], [])


@st.composite
def proposal_inputs(draw, max_time: int):
    lengths = draw(st.lists(st.integers(0, max_time), min_size=1, max_size=3))
    channels = draw(st.integers(1, 3))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    levels = draw(st.sampled_from([0, 40, 8]))  # multiples of 1/40 hit LACP's thresholds exactly
    scores = smooth_scores(gen, (len(lengths), max(lengths), channels), dtype, levels)
    for video, length in enumerate(lengths):
        scores[video, length:] = draw(st.sampled_from([0.0, 1.0]))
    thresholds = draw(st.lists(st.sampled_from([*LACP_THRESHOLDS, 1.0, -0.5, 0.3]), max_size=6))
    return scores, thresholds, torch.tensor(lengths)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=100, deadline=None)
@given(data=proposal_inputs(max_time=400))
def test_backend_equals_reference(backend, data):
    scores, thresholds, lengths = data
    assert run(backend, scores, thresholds, lengths) == run("reference", scores, thresholds, lengths)


@pytest.mark.parametrize("backend", ALL)
def test_lacp_inference_equals_zero_then_group(backend):
    # LACP's shape, shortened: 3 predicted classes of a 150-snippet video upsampled 24x, 19 thresholds.
    scores = upsampled_cas(torch.Generator().manual_seed(3), 150, 3)
    segments, index = run(backend, scores, LACP_THRESHOLDS)
    expected = [[0, channel, start, end] for channel in range(3) for threshold in LACP_THRESHOLDS
                for start, end in zeroed_runs(scores[0, :, channel].tolist(), threshold)]
    assert segments == expected
    assert [LACP_THRESHOLDS[i] for i in index] == [threshold for channel in range(3) for threshold in LACP_THRESHOLDS
                                                   for _ in zeroed_runs(scores[0, :, channel].tolist(), threshold)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_batch_of_different_lengths(backend):
    gen = torch.Generator().manual_seed(4)
    scores = torch.cat([upsampled_cas(gen, 125, 2), upsampled_cas(gen, 125, 2)])  # T = 3 000
    lengths = torch.tensor([3000, 1777])
    assert run(backend, scores, LACP_THRESHOLDS, lengths) == run("reference", scores, LACP_THRESHOLDS, lengths)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(scores=torch.zeros(4, 3)), ValueError, "scores must have 3 dimension"),
    (dict(scores=torch.zeros(2, 4, 3, dtype=torch.int64)), TypeError, "scores must have dtype"),
    (dict(scores=torch.zeros(2, 4, 3).index_fill_(1, torch.tensor([1]), float("nan"))), ValueError,
     "scores must be finite"),
    (dict(thresholds=[0.1, float("nan")]), ValueError, r"thresholds\[1\] must be finite"),
    (dict(thresholds=torch.tensor([0.1, float("inf")])), ValueError, "thresholds must be finite"),
    (dict(thresholds=torch.zeros(2, 2)), ValueError, "thresholds must have 1 dimension"),
    (dict(thresholds=[[0.1, 0.2]]), TypeError, r"thresholds\[0\] must be a real number"),
    (dict(thresholds=torch.tensor([1, 2])), TypeError, "thresholds must have dtype"),
    (dict(lengths=torch.tensor([4, 5])), ValueError, r"lengths must be in \[0, 4\]"),
    (dict(lengths=torch.tensor([4])), ValueError, r"lengths must have shape \(2,\)"),
    (dict(backend="nope"), ValueError, "backend must be one of"),
])
def test_bad_input(kwargs, error, match):
    args = dict(scores=torch.zeros(2, 4, 3), thresholds=[0.1, 0.5], lengths=None)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        threshold_proposals(**args)


@needs_gpu("needs a GPU (70 000 thresholds, one program each)")
@pytest.mark.parametrize("backend", [param for param in BACKENDS if param.id != "cpu"])
def test_more_thresholds_than_a_second_grid_axis_holds(backend):
    gen = torch.Generator().manual_seed(7)
    scores = torch.rand(2, 50, 3, generator=gen)
    thresholds = torch.rand(70_000, generator=gen)
    expected = run("cpu", scores, thresholds)
    assert run(backend, scores, thresholds) == expected
