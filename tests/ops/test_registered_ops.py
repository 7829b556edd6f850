"""Every op as a registered PyTorch op (``torch.ops.ptal.*``): ``torch.library.opcheck`` (schema, fake/meta
implementation, autograd registration, AOT dispatch) on every backend that runs here; ``torch.compile``
with ``fullgraph=True`` through NMS, OIC scores and proposal sampling, forward and backward; meta and fake
tensors; NumPy arrays in and out; CuPy arrays in and out (on a GPU with CuPy installed)."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import ptal.ops
from ptal.ops import _arrays
from tests.gpu import needs_gpu
from tests.ops.backends import device_of, fast_backends, op_backend, table
from tests.ops.sequences import seed_batch

REGISTERED = ("segment_iou", "temporal_nms", "soft_nms", "oic_scores", "select_seeds", "threshold_proposals",
              "generate_proposals", "sample_proposal_features", "optimal_sequence_search", "constrained_kmedoids",
              "roi_align_1d")


def inputs(device: torch.device) -> SimpleNamespace:
    """Small valid inputs of every op, float64, on ``device``."""
    gen = torch.Generator().manual_seed(0)
    starts = torch.randint(0, 10, (12,), generator=gen).double()
    cas, points, lengths = seed_batch(gen, [12, 9], 2, ["adjacent", "ends"], dtype=torch.float64)
    act_seed, bkg_seed = ptal.ops.select_seeds(cas, points, lengths)
    x = SimpleNamespace(
        segments=torch.stack([starts, starts + torch.randint(0, 5, (12,), generator=gen)], 1),
        scores=torch.rand(12, generator=gen, dtype=torch.float64),
        idxs=torch.randint(0, 3, (12,), generator=gen),
        cas=cas, points=points, lengths=lengths, act_seed=act_seed, bkg_seed=bkg_seed,
        video_labels=points.amax(1),
        sequences=torch.rand(2, 12, generator=gen, dtype=torch.float64),
        runs=torch.tensor([[0, 2, 5], [1, 0, 8], [0, 0, 0], [1, 3, 3]]),
        thresholds=torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64),
        features=torch.rand(2, 12, 3, generator=gen, dtype=torch.float64),
        proposals=torch.tensor([[0, 1.5, 6.0], [1, 0.0, 8.0], [1, 7.5, 7.5], [0, -2.0, 3.0]], dtype=torch.float64),
        point_snippets=torch.tensor([[2, 7], [4, -1]]), point_classes=torch.tensor([[0, 1], [1, 0]]),
        channels_first=torch.rand(2, 3, 12, generator=gen, dtype=torch.float64))
    return SimpleNamespace(**{name: value.to(device) for name, value in vars(x).items()})


def public_calls(x: SimpleNamespace) -> dict:
    """op name -> (public function, args, kwargs)."""
    return {
        "segment_iou": (ptal.ops.segment_iou, (x.segments, x.segments[:5]), {}),
        "temporal_nms": (ptal.ops.temporal_nms, (x.segments, x.scores, 0.5, x.idxs), {}),
        "soft_nms": (ptal.ops.soft_nms, (x.segments, x.scores, x.idxs), dict(method="linear")),
        "oic_scores": (ptal.ops.oic_scores, (x.sequences, x.runs, x.lengths), {}),
        "select_seeds": (ptal.ops.select_seeds, (x.cas, x.points, x.lengths), {}),
        "threshold_proposals": (ptal.ops.threshold_proposals, (x.sequences[..., None], x.thresholds, x.lengths),
                                dict(return_threshold_index=True)),
        "generate_proposals": (ptal.ops.generate_proposals, (x.sequences, x.sequences.flip(1), x.lengths),
                               dict(d_max=4, max_proposals=5)),
        "sample_proposal_features": (ptal.ops.sample_proposal_features, (x.features, x.proposals),
                                     dict(num_samples=4, lengths=x.lengths)),
        "optimal_sequence_search": (ptal.ops.optimal_sequence_search,
                                    (x.cas, x.act_seed, x.bkg_seed, x.video_labels, x.lengths), {}),
        "constrained_kmedoids": (ptal.ops.constrained_kmedoids, (x.features, x.point_snippets, x.point_classes,
                                                                 x.lengths), dict(max_iter=3)),
        "roi_align_1d": (ptal.ops.roi_align_1d, (x.channels_first, x.proposals, 4), dict(aligned=True)),
    }


def registered_calls(x: SimpleNamespace, backend: str) -> dict:
    """op name -> [(registered op, args)], its backward too where it has one; float inputs that a gradient
    flows to require it."""
    scores = x.sequences.clone().requires_grad_()
    features = x.features.clone().requires_grad_()
    channels_first = x.channels_first.clone().requires_grad_()
    ops = torch.ops.ptal
    return {
        "segment_iou": [(ops.segment_iou.default, (x.segments, x.segments[:5], 0.0, backend, True))],
        "temporal_nms": [(ops.temporal_nms.default, (x.segments, x.scores, 0.5, x.idxs, 0.0, False, 1e-6, backend,
                                                     True))],
        "soft_nms": [(ops.soft_nms.default, (x.segments, x.scores, x.idxs, "linear", 0.5, 0.3, 1e-3, None, 1e-6,
                                             grouped, backend, True)) for grouped in (False, True)],
        "oic_scores": [(ops.oic_scores.default, (scores, x.runs, x.lengths, 0.25, backend, True)),
                       (ops.oic_scores_backward.default, (x.scores[:4], x.runs, x.lengths, 2, 12, 0.25, backend))],
        "select_seeds": [(ops.select_seeds.default, (x.cas, x.points, x.lengths, 0.95, 0.1, backend, True))],
        "threshold_proposals": [(ops.threshold_proposals.default, (x.sequences[..., None], x.thresholds, x.lengths,
                                                                   backend, True))],
        "generate_proposals": [(ops.generate_proposals.default, (x.sequences, x.sequences.flip(1), x.lengths, 1, 4,
                                                                 5, backend, True))],
        "sample_proposal_features": [
            (ops.sample_proposal_features.default, (features, x.proposals, x.lengths, 4, 0.1, backend, True)),
            (ops.sample_proposal_features_backward.default, (x.features.new_ones((4, 4, 3)), x.proposals, x.lengths,
                                                             2, 12, 0.1, backend))],
        "optimal_sequence_search": [(ops.optimal_sequence_search.default, (x.cas, x.act_seed, x.bkg_seed,
                                                                           x.video_labels, x.lengths, "exact", 25, 0.1,
                                                                           0.25, backend, True))],
        "constrained_kmedoids": [(ops.constrained_kmedoids.default, (x.features, x.point_snippets, x.point_classes,
                                                                     x.lengths, "cosine", 3, "gap", 0, "points", 512, 0,
                                                                     backend, True))],
        "roi_align_1d": [
            (ops.roi_align_1d.default, (channels_first, x.proposals, 4, 1.0, 0, False, backend, True)),
            (ops.roi_align_1d_backward.default, (x.channels_first.new_ones((4, 3, 5)), x.proposals, 2, 12, 0.5, 2,
                                                 True, backend))],
    }


def every_backend():
    return [pytest.param(op, backend, marks=param.marks, id=f"{op}-{backend}")
            for op in REGISTERED
            for param in [pytest.param("reference"), *fast_backends(op)]
            for backend in param.values]


@pytest.mark.parametrize("op, backend", every_backend())
def test_opcheck(op, backend):
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    for registered, args in registered_calls(inputs(device), op_backend(backend))[op]:
        torch.library.opcheck(registered, args)


def test_every_public_op_is_registered():
    assert set(REGISTERED) == {name for name in ptal.ops.__all__ if hasattr(torch.ops.ptal, name)}
    assert set(public_calls(inputs(torch.device("cpu")))) == set(REGISTERED)
    assert all(table(op).op == op for op in REGISTERED)


ON_GPU = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")]


@pytest.mark.parametrize("device, backend", [("cpu", "reference"), ("cpu", None),
                                             pytest.param("cuda", None, marks=ON_GPU)])
def test_compile_full_graph_through_nms_oic_sampling_and_roi_align_forward_and_backward(device, backend):
    """A post-processing step as a TAL model would compile it: NMS on proposals, then the OIC score and the
    sampled features of the kept ones, differentiated w.r.t. the scores and the features. One graph."""
    from torch._dynamo.testing import CompileCounterWithBackend

    x = inputs(torch.device(device))
    rows = torch.tensor([[0, 1, 4], [0, 2, 5], [1, 0, 3], [1, 6, 8], [0, 7, 11], [1, 1, 3]], device=device)
    proposal_scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], dtype=torch.float64, device=device)

    def post_process(sequences, features):
        keep = ptal.ops.temporal_nms(rows[:, 1:].double(), proposal_scores, 0.3, rows[:, 0], backend=backend)
        kept = rows[keep]
        oic = ptal.ops.oic_scores(sequences, kept, x.lengths, backend=backend)
        sampled = ptal.ops.sample_proposal_features(features, kept.double(), num_samples=4, lengths=x.lengths,
                                                    backend=backend)
        aligned = ptal.ops.roi_align_1d(features.transpose(1, 2), kept.double(), 3, backend=backend)
        return (oic[:, None, None] * sampled).sum() + oic.sum() + (oic[:, None, None] * aligned).sum()

    def value_and_gradients(function):
        sequences, features = x.sequences.clone().requires_grad_(), x.features.clone().requires_grad_()
        value = function(sequences, features)
        return (value, *torch.autograd.grad(value, (sequences, features)))

    counter = CompileCounterWithBackend("aot_eager")
    torch._dynamo.reset()
    compiled = torch.compile(post_process, backend=counter, fullgraph=True)
    expected = value_and_gradients(post_process)
    got = value_and_gradients(compiled)
    for value, want in zip(got, expected, strict=True):
        torch.testing.assert_close(value, want, rtol=0, atol=1e-12)
    assert counter.frame_count == 1


def test_meta_tensors_get_shapes():
    meta = inputs(torch.device("meta"))
    assert ptal.ops.segment_iou(meta.segments, meta.segments[:5]).shape == (12, 5)
    assert ptal.ops.oic_scores(meta.sequences, meta.runs).shape == (4,)
    assert ptal.ops.sample_proposal_features(meta.features, meta.proposals, num_samples=4).shape == (4, 4, 3)
    assert ptal.ops.roi_align_1d(meta.channels_first, meta.proposals, 5).shape == (4, 3, 5)
    act_seed, bkg_seed = ptal.ops.select_seeds(meta.cas, meta.points)
    assert act_seed.shape == (2, 12, 2) and bkg_seed.shape == (2, 12)
    pseudo_labels, score = ptal.ops.optimal_sequence_search(meta.cas, meta.act_seed, meta.bkg_seed, meta.video_labels)
    assert pseudo_labels.shape == (2, 12, 2) and pseudo_labels.dtype == torch.uint8 and score.shape == (2,)
    # Outputs whose size depends on the data: a clear error with meta tensors, symbolic sizes with fake ones.
    with pytest.raises(RuntimeError, match="data-dependent shape"):
        ptal.ops.temporal_nms(meta.segments, meta.scores, 0.5)
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    cpu = inputs(torch.device("cpu"))
    with FakeTensorMode(shape_env=ShapeEnv()) as mode:
        segments, scores = mode.from_tensor(cpu.segments), mode.from_tensor(cpu.scores)
        keep = ptal.ops.temporal_nms(segments, scores, 0.5)
        kept_segments, kept_scores, indices = ptal.ops.soft_nms(segments, scores)
    assert keep.dim() == 1 and keep.dtype == torch.int64 and kept_segments.shape[1] == 2


def as_array(value, convert=torch.Tensor.numpy):
    return convert(value) if isinstance(value, torch.Tensor) else value


@pytest.mark.parametrize("op", REGISTERED)
def test_numpy_in_numpy_out(op):
    x = inputs(torch.device("cpu"))
    function, args, kwargs = public_calls(x)[op]
    expected = function(*args, **kwargs)
    got = function(*map(as_array, args), **{name: as_array(value) for name, value in kwargs.items()})
    expected, got = (expected, got) if isinstance(expected, tuple) else ((expected,), (got,))
    assert len(got) == len(expected)
    for array, tensor in zip(got, expected):
        assert isinstance(array, np.ndarray) and array.dtype == tensor.numpy().dtype
        np.testing.assert_array_equal(array, tensor.numpy())


def test_numpy_arrays_are_shared_and_read_only_or_reversed_ones_accepted():
    segments = np.array([[0.0, 2.0], [1.0, 3.0], [5.0, 6.0]])
    assert _arrays._from_numpy("segments", segments).data_ptr() == segments.ctypes.data
    read_only = segments[::-1].copy()
    read_only.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns about read-only arrays: not here, the ops never write
        iou = ptal.ops.segment_iou(read_only, segments[::-1])  # read-only; negative strides (copied once)
    np.testing.assert_allclose(iou, ptal.ops.segment_iou(segments, segments)[::-1, ::-1])
    keep = ptal.ops.temporal_nms(segments, np.array([0.9, 0.8, 0.7]), 0.3)
    assert isinstance(keep, np.ndarray) and keep.tolist() == [0, 2]


def test_numpy_mixed_with_tensors_gives_tensors_and_bad_dtypes_are_named():
    scores = torch.rand(1, 6, 1, dtype=torch.float64)
    assert isinstance(ptal.ops.threshold_proposals(scores, np.array([0.2, 0.5])), torch.Tensor)
    with pytest.raises(TypeError, match="scores has NumPy dtype"):
        ptal.ops.temporal_nms(np.zeros((2, 2)), np.array([1, "a"], dtype=object), 0.5)
    with pytest.raises(TypeError, match="segments must have dtype float32 or float64, got int64"):
        ptal.ops.temporal_nms(np.zeros((2, 2), dtype=np.int64), np.zeros(2), 0.5)


@needs_gpu()
@pytest.mark.parametrize("op", REGISTERED)
def test_cupy_in_cupy_out_on_cupys_stream(op):
    cupy = pytest.importorskip("cupy")
    x = inputs(torch.device("cuda"))
    function, args, kwargs = public_calls(x)[op]
    expected = function(*args, **kwargs)
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        got = function(*[as_array(value, cupy.from_dlpack) for value in args],
                       **{name: as_array(value, cupy.from_dlpack) for name, value in kwargs.items()})
    stream.synchronize()
    expected, got = (expected, got) if isinstance(expected, tuple) else ((expected,), (got,))
    for array, tensor in zip(got, expected):
        assert isinstance(array, cupy.ndarray)
        np.testing.assert_array_equal(cupy.asnumpy(array), tensor.cpu().numpy())
