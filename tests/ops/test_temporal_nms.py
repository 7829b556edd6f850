import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import temporal_nms
from ptal_core.reference.segment_iou import segment_iou
from tests.ops.backends import device_of, fast_backends, op_backend
from benchmarks.workloads import proposals
from tests.ops.strategies import segment_sets
from tests.gpu import needs_gpu

BACKENDS = fast_backends("temporal_nms")
ALL = ["reference", *BACKENDS]


def run(backend, segments, scores, threshold, idxs=None, **kwargs):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    idxs = None if idxs is None else idxs.to(device)
    keep = temporal_nms(segments.to(device), scores.to(device), threshold, idxs, backend=op_backend(backend),
                        **kwargs)
    assert keep.dtype == torch.int64 and keep.device.type == device.type
    return keep.cpu().tolist()


@pytest.mark.parametrize("backend", ALL)
def test_hand_checked(backend):
    segments = torch.tensor([[0.0, 10.0], [1.0, 11.0], [20.0, 30.0], [5.0, 15.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    # IoU([0,10],[1,11]) = 9/11 > 0.5: suppressed; IoU([0,10],[5,15]) = 1/3: kept.
    assert run(backend, segments, scores, 0.5) == [0, 2, 3]
    assert run(backend, segments, scores, 0.3) == [0, 2]


@pytest.mark.parametrize("backend", ALL)
def test_threshold_equality_and_frame_lengths(backend):
    segments = torch.tensor([[0.0, 2.0], [1.0, 2.0]])  # IoU exactly 0.5
    scores = torch.tensor([0.5, 0.9])
    assert run(backend, segments, scores, 0.5) == [1, 0]
    assert run(backend, segments, scores, 0.5, suppress_at_threshold=True) == [1]
    # "+1" lengths (LACP's release): frames [0, 2] and [1, 2] -> 2 / 3.
    assert run(backend, segments, scores, 0.6, length_offset=1.0) == [1]
    assert run(backend, segments, scores, 0.7, length_offset=1.0) == [1, 0]


@pytest.mark.parametrize("backend", ALL)
def test_union_epsilon_lengthens_the_union_only(backend):
    segments = torch.tensor([[0.0, 2.0], [1.0, 2.0]])  # IoU exactly 0.5
    scores = torch.tensor([0.5, 0.9])
    # ActionFormer's IoU: 1 / (2 + 1e-6 + 1 + 1e-6 - 1) < 0.5 keeps it; with 1e-6 in the intersection too
    # (length_offset), 1.000001 / 2.000001 > 0.5 suppresses.
    assert run(backend, segments, scores, 0.5, suppress_at_threshold=True, union_epsilon=1e-6) == [1, 0]
    assert run(backend, segments, scores, 0.5, suppress_at_threshold=True, length_offset=1e-6) == [1]
    for dtype in (torch.float32, torch.float64):
        assert run(backend, segments.to(dtype), scores.to(dtype), 0.4999, union_epsilon=1e-6) == [1]
        assert run(backend, segments.to(dtype), scores.to(dtype), 0.4, union_epsilon=0.5) == [1, 0]  # 1/3.5


def test_reference_iou_with_union_epsilon_is_actionformers_float32_arithmetic():
    # ActionFormer's nms_1d_cpu, in float32: area = (end - start) + 1e-6; IoU = inter / (area_i + area_j - inter).
    # Pairs near IoU 0.5, where the float32 roundings decide.
    gen = np.random.default_rng(0)
    a_start = gen.integers(0, 400, 20000).astype(np.float32) / np.float32(8)
    a = np.stack([a_start, a_start + gen.integers(1, 200, 20000).astype(np.float32) / np.float32(8)], 1)
    b = np.stack([a[:, 0] + (a[:, 1] - a[:, 0]) / np.float32(2), a[:, 1]], 1)
    b[::2] += gen.random((10000, 1)).astype(np.float32) * np.float32(1e-5)
    areas_a = (a[:, 1] - a[:, 0]) + np.float32(1e-6)
    areas_b = (b[:, 1] - b[:, 0]) + np.float32(1e-6)
    inter = np.maximum(np.float32(0), np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]))
    theirs = inter / (areas_a + areas_b - inter)
    ours = torch.stack([segment_iou(torch.from_numpy(a[i:i + 1]), torch.from_numpy(b[i:i + 1]),
                                    union_epsilon=1e-6)[0, 0] for i in range(0, 20000, 7)])
    assert ours.dtype == torch.float32
    assert np.array_equal(ours.numpy(), theirs[::7])


@pytest.mark.parametrize("backend", ALL)
def test_ties_keep_the_lower_index(backend):
    segments = torch.tensor([[0.0, 1.0]] * 4 + [[5.0, 6.0]] * 2)
    scores = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.5, 0.7])
    assert run(backend, segments, scores, 0.5) == [5, 0]


@pytest.mark.parametrize("backend", ALL)
def test_zero_length_segments_never_suppress(backend):
    segments = torch.tensor([[3.0, 3.0], [3.0, 3.0], [2.0, 4.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert run(backend, segments, scores, 0.0) == [0, 1, 2]


@pytest.mark.parametrize("backend", ALL)
def test_groups_are_independent_and_output_is_by_score(backend):
    segments = torch.tensor([[0.0, 10.0], [0.0, 10.0], [0.0, 10.0], [0.0, 9.0]])
    scores = torch.tensor([0.2, 0.9, 0.5, 0.4])
    idxs = torch.tensor([7, 3, 7, 3])
    assert run(backend, segments, scores, 0.5, idxs) == [1, 2]
    assert run(backend, segments, scores, 0.5, idxs.to(torch.int32)) == [1, 2]


@pytest.mark.parametrize("backend", ALL)
def test_one_segment_and_empty(backend):
    assert run(backend, torch.tensor([[1.0, 2.0]]), torch.tensor([0.3]), 0.5) == [0]
    assert run(backend, torch.zeros((0, 2)), torch.zeros(0), 0.5) == []
    assert run(backend, torch.zeros((0, 2)), torch.zeros(0), 0.5, torch.zeros(0, dtype=torch.int64)) == []


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=150, deadline=None)
@given(data=segment_sets(), threshold=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0, 0.45]),
       offset=st.sampled_from([0.0, 1.0]), at_threshold=st.booleans(), epsilon=st.sampled_from([0.0, 1e-6, 0.25]))
def test_backend_equals_reference(backend, data, threshold, offset, at_threshold, epsilon):
    segments, scores, idxs = data
    kwargs = dict(length_offset=offset, suppress_at_threshold=at_threshold, union_epsilon=epsilon)
    assert run(backend, segments, scores, threshold, idxs, **kwargs) == \
        run("reference", segments, scores, threshold, idxs, **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_groups_of_many_segments(backend):
    # Groups larger than one 64-wide mask tile, of uneven sizes, including a group of one.
    gen = torch.Generator().manual_seed(1)
    n = 1500
    starts = torch.rand(n, generator=gen) * 200
    segments = torch.stack([starts, starts + torch.rand(n, generator=gen) * 40], 1)
    scores = torch.rand(n, generator=gen)
    idxs = torch.cat([torch.randint(0, 5, (n - 1,), generator=gen) * 2, torch.tensor([99])])
    assert run(backend, segments, scores, 0.4, idxs) == run("reference", segments, scores, 0.4, idxs)


@pytest.mark.parametrize("backend", ALL)
def test_equals_box_nms_of_torchvision(backend):
    torchvision = pytest.importorskip("torchvision")
    gen = torch.Generator().manual_seed(2)
    starts = torch.rand(400, generator=gen) * 100
    segments = torch.stack([starts, starts + torch.rand(400, generator=gen) * 20], 1)
    scores = torch.rand(400, generator=gen)
    idxs = torch.randint(0, 6, (400,), generator=gen)
    boxes = torch.stack([segments[:, 0], torch.zeros(400), segments[:, 1], torch.ones(400)], 1)
    expected = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5).tolist()
    assert run(backend, segments, scores, 0.5, idxs) == expected


def test_reference_on_thumos_like_proposals_keeps_the_best_of_each_cluster():
    # Ten jittered copies of three instances: exactly one survivor per instance, the best scored.
    gen = torch.Generator().manual_seed(3)
    centres = torch.tensor([10.0, 40.0, 90.0]).repeat_interleave(10)
    jitter = torch.rand(30, 2, generator=gen) * 0.5
    segments = torch.stack([centres - 3 + jitter[:, 0], centres + 3 + jitter[:, 1]], 1)
    scores = torch.rand(30, generator=gen)
    keep = temporal_nms(segments, scores, 0.5, backend="reference")
    assert sorted(keep.tolist()) == sorted(int(scores[i:i + 10].argmax()) + i for i in (0, 10, 20))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(scores=torch.zeros(2)), ValueError, r"scores must have shape \(3,\)"),
    (dict(scores=torch.zeros(3, dtype=torch.float64)), TypeError, "scores must have the dtype of segments"),
    (dict(scores=torch.tensor([0.0, float("nan"), 1.0])), ValueError, "scores must be finite"),
    (dict(scores=torch.tensor([0.0, float("inf"), 1.0])), ValueError, "scores must be finite"),
    (dict(segments=torch.tensor([[0.0, 1.0], [3.0, 2.0], [0.0, 1.0]])), ValueError, "end >= start, row 1"),
    (dict(segments=torch.zeros(3, 2, dtype=torch.float16)), TypeError, "segments must have dtype"),
    (dict(iou_threshold=float("nan")), ValueError, "iou_threshold must be finite"),
    (dict(iou_threshold=1.5), ValueError, "iou_threshold must be <= 1.0"),
    (dict(iou_threshold="0.5"), TypeError, "iou_threshold must be a real number"),
    (dict(idxs=torch.zeros(4, dtype=torch.int64)), ValueError, r"idxs must have shape \(3,\)"),
    (dict(idxs=torch.zeros(3)), TypeError, "idxs must have dtype"),
    (dict(length_offset=-1.0), ValueError, "length_offset must be >= 0"),
    (dict(union_epsilon=-1e-6), ValueError, "union_epsilon must be >= 0"),
])
def test_bad_input(kwargs, error, match):
    args = dict(segments=torch.tensor([[0.0, 1.0], [0.5, 2.0], [3.0, 4.0]]), scores=torch.tensor([0.1, 0.2, 0.3]),
                iou_threshold=0.5, idxs=None)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        temporal_nms(**args)


@needs_gpu()
def test_tensors_on_different_devices():
    with pytest.raises(ValueError, match="one device"):
        temporal_nms(torch.zeros(1, 2, device="cuda"), torch.zeros(1, device="cuda"), 0.5, torch.zeros(1, dtype=torch.int64))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("threshold, offset", [(0.5, 0.0), (0.1, 1.0), (0.0, 0.0)])
def test_long_segments_among_short_ones_and_far_apart(backend, threshold, offset):
    # Realistic groups of 2 000 proposals, a few very long ones among them, and isolated segments far from the
    # rest: the CPU kernel visits only the segments that can overlap a kept one, which these must not fool.
    segments, scores, idxs = proposals(3, 2000, seed=4)
    long_rows = torch.arange(0, 6000, 500)
    segments[long_rows, 1] = segments[long_rows, 0] + 700
    segments[7::997] += 5000
    assert run(backend, segments, scores, threshold, idxs, length_offset=offset) == \
        run("reference", segments, scores, threshold, idxs, length_offset=offset)
