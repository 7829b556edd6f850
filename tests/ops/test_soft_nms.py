import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import soft_nms, temporal_nms
from tests.ops.backends import device_of, fast_backends, op_backend
from benchmarks.workloads import proposals
from tests.ops.strategies import segment_sets

BACKENDS = fast_backends("soft_nms")
ALL = ["reference", *BACKENDS]


def run(backend, segments, scores, idxs=None, **kwargs):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    idxs = None if idxs is None else idxs.to(device)
    out_segments, out_scores, indices = soft_nms(segments.to(device), scores.to(device), idxs,
                                                 backend=op_backend(backend),
                                                 **kwargs)
    assert indices.dtype == torch.int64 and out_scores.dtype == scores.dtype
    assert torch.equal(out_segments.cpu(), segments[indices.cpu()])
    return indices.cpu(), out_scores.cpu()


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked_decays(backend):
    segments = torch.tensor([[0.0, 10.0], [5.0, 15.0], [30.0, 40.0]], dtype=torch.float64)
    scores = torch.tensor([1.0, 0.9, 0.2], dtype=torch.float64)
    # IoU([0,10],[5,15]) = 1/3.
    indices, out = run(backend, segments, scores, method="linear", iou_threshold=0.3)
    assert indices.tolist() == [0, 1, 2]
    assert out.tolist() == pytest.approx([1.0, 0.9 * (1 - 1 / 3), 0.2], abs=1e-15)
    indices, out = run(backend, segments, scores, method="linear", iou_threshold=0.4)
    assert out.tolist() == pytest.approx([1.0, 0.9, 0.2], abs=1e-15)
    indices, out = run(backend, segments, scores, method="gaussian", sigma=0.5)
    assert out.tolist() == pytest.approx([1.0, 0.9 * math.exp(-(1 / 9) / 0.5), 0.2], abs=1e-15)
    indices, out = run(backend, segments, scores, method="hard", iou_threshold=0.3)
    assert indices.tolist() == [0, 2] and out.tolist() == pytest.approx([1.0, 0.2])


@pytest.mark.parametrize("backend", ALL)
def test_union_epsilon_lengthens_the_union_only(backend):
    segments = torch.tensor([[0.0, 10.0], [5.0, 15.0]], dtype=torch.float64)
    scores = torch.tensor([1.0, 0.9], dtype=torch.float64)
    # IoU 5 / (10.5 + 10.5 - 5) = 5 / 16 (1/3 without the epsilon).
    _, out = run(backend, segments, scores, method="gaussian", sigma=0.5, union_epsilon=0.5)
    assert out.tolist() == pytest.approx([1.0, 0.9 * math.exp(-((5 / 16) ** 2) / 0.5)], abs=1e-15)
    _, out = run(backend, segments, scores, method="linear", iou_threshold=0.32, union_epsilon=0.5)
    assert out.tolist() == [1.0, 0.9]
    _, out = run(backend, segments, scores, method="linear", iou_threshold=0.3, union_epsilon=0.5)
    assert out.tolist() == pytest.approx([1.0, 0.9 * (1 - 5 / 16)], abs=1e-15)


@pytest.mark.parametrize("backend", ALL)
def test_decay_can_reorder(backend):
    # The second-best segment overlaps the best a lot; after decay the third one comes first.
    segments = torch.tensor([[0.0, 10.0], [1.0, 10.0], [20.0, 25.0]])
    scores = torch.tensor([0.9, 0.8, 0.5])
    indices, out = run(backend, segments, scores, method="linear", iou_threshold=0.5)
    assert indices.tolist() == [0, 2, 1]
    assert out[2].item() == pytest.approx(0.8 * 0.1, rel=1e-6)


@pytest.mark.parametrize("backend", ALL)
def test_min_score_max_keep_and_groups(backend):
    segments = torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [0.0, 1.0], [2.0, 3.0]])
    scores = torch.tensor([0.5, 0.7, 0.6, 0.0001, 0.0002])
    idxs = torch.tensor([1, 1, 1, 0, 0])
    indices, _ = run(backend, segments, scores, idxs)
    assert indices.tolist() == [1, 2, 0]  # group 0 is entirely below min_score: nothing from it
    indices, _ = run(backend, segments, scores, idxs, max_keep=2, min_score=0.0)
    assert indices.tolist() == [1, 2, 4, 3]
    indices, _ = run(backend, segments, scores, idxs, max_keep=2, min_score=0.0, grouped=True)
    assert indices.tolist() == [4, 3, 1, 2]  # group 0 first
    indices, _ = run(backend, segments, scores, idxs, min_score=0.55)
    assert indices.tolist() == [1, 2]


@pytest.mark.parametrize("backend", ALL)
def test_ties_pick_the_lower_index(backend):
    segments = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    scores = torch.tensor([0.5, 0.5, 0.5])
    indices, out = run(backend, segments, scores, method="gaussian", sigma=1.0, min_score=0.0)
    assert indices.tolist() == [0, 1, 2]
    assert out.tolist() == pytest.approx([0.5, 0.5 * math.exp(-1), 0.5 * math.exp(-2)], rel=1e-6)


@pytest.mark.parametrize("backend", ALL)
def test_empty(backend):
    device = device_of(backend) if backend != "reference" else "cpu"
    out = soft_nms(torch.zeros((0, 2), device=device), torch.zeros(0, device=device), backend=op_backend(backend))
    assert [t.shape for t in out] == [(0, 2), (0,), (0,)]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=120, deadline=None)
@given(data=segment_sets(max_size=50), method=st.sampled_from(["gaussian", "linear", "hard"]),
       sigma=st.sampled_from([0.1, 0.5, 1.0]), threshold=st.sampled_from([0.0, 0.3, 0.5, 0.9]),
       min_score=st.sampled_from([0.0, 1e-3, 0.2]), max_keep=st.sampled_from([None, 1, 3]),
       epsilon=st.sampled_from([0.0, 1e-6, 0.25]), grouped=st.booleans())
def test_backend_equals_reference(backend, data, method, sigma, threshold, min_score, max_keep, epsilon, grouped):
    segments, scores, idxs = data
    kwargs = dict(method=method, sigma=sigma, iou_threshold=threshold, min_score=min_score, max_keep=max_keep,
                  union_epsilon=epsilon, grouped=grouped)
    indices, out = run(backend, segments, scores, idxs, **kwargs)
    expected_indices, expected = run("reference", segments, scores, idxs, **kwargs)
    assert indices.tolist() == expected_indices.tolist()
    tolerance = 1e-12 if scores.dtype == torch.float64 else 1e-6
    torch.testing.assert_close(out, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("backend", ALL)
@settings(max_examples=40, deadline=None)
@given(data=segment_sets(max_size=40), method=st.sampled_from(["gaussian", "linear", "hard"]),
       max_keep=st.sampled_from([None, 2]))
def test_grouped_is_the_selections_by_group(backend, data, method, max_keep):
    segments, scores, idxs = data
    indices, out = run(backend, segments, scores, idxs, method=method, max_keep=max_keep)
    grouped_indices, grouped_out = run(backend, segments, scores, idxs, method=method, max_keep=max_keep,
                                       grouped=True)
    by_group = torch.sort(idxs[indices], stable=True).indices
    assert grouped_indices.tolist() == indices[by_group].tolist()
    assert torch.equal(grouped_out, out[by_group])


@pytest.mark.parametrize("backend", ALL)
@settings(max_examples=40, deadline=None)
@given(data=segment_sets(max_size=40), threshold=st.sampled_from([0.0, 0.3, 0.5, 0.9]))
def test_hard_method_is_temporal_nms(backend, data, threshold):
    segments, scores, idxs = data
    indices, out = run(backend, segments, scores, idxs, method="hard", iou_threshold=threshold, min_score=1e-9)
    keep = temporal_nms(segments, scores, threshold, idxs, backend="reference")
    assert indices.tolist() == keep.tolist()
    torch.testing.assert_close(out, scores[keep])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="cubic"), ValueError, "method must be one of"),
    (dict(sigma=0.0), ValueError, "sigma must be > 0"),
    (dict(sigma=float("nan")), ValueError, "sigma must be finite"),
    (dict(iou_threshold=-0.1), ValueError, "iou_threshold must be >= 0"),
    (dict(min_score=float("-inf")), ValueError, "min_score must be finite"),
    (dict(max_keep=0), ValueError, "max_keep must be >= 1"),
    (dict(max_keep=2.5), TypeError, "max_keep must be an int"),
    (dict(union_epsilon=-1.0), ValueError, "union_epsilon must be >= 0"),
    (dict(scores=torch.tensor([0.1, float("nan")])), ValueError, "scores must be finite"),
    (dict(scores=torch.tensor([[0.1, 0.2]])), ValueError, "scores must have 1 dimension"),
    (dict(idxs=torch.tensor([0])), ValueError, r"idxs must have shape \(2,\)"),
    (dict(segments=torch.tensor([[0.0, 1.0], [0.0, float("inf")]])), ValueError, "segments must be finite"),
    (dict(backend="metal"), ValueError, "backend must be one of"),
])
def test_bad_input(kwargs, error, match):
    args = dict(segments=torch.tensor([[0.0, 1.0], [0.5, 2.0]]), scores=torch.tensor([0.1, 0.2]))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        soft_nms(**args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_long_segments_among_short_ones_and_far_apart(backend, method):
    # As for temporal_nms: the CPU kernel decays only the segments that overlap the selected one.
    segments, scores, idxs = proposals(2, 1000, seed=5, dtype=torch.float64)
    long_rows = torch.arange(0, 2000, 250)
    segments[long_rows, 1] = segments[long_rows, 0] + 700
    segments[7::997] += 5000
    indices, out = run(backend, segments, scores, idxs, method=method, iou_threshold=0.3)
    expected_indices, expected = run("reference", segments, scores, idxs, method=method, iou_threshold=0.3)
    assert indices.tolist() == expected_indices.tolist()
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
