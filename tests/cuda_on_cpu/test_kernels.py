"""ptal's CUDA kernels and their glue, run on the CPU harness, held to the reference: at least 1 000 random inputs
per kernel, and the launch geometries a GPU sees (several blocks, thousands of them, sizes that do not divide the
block or the tile, the most points per video). The other backends' tests run the harness too
(``tests/ops``, parameter ``cuda_on_cpu``)."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

from benchmarks.workloads import proposals
from ptal.ops import constrained_kmedoids, temporal_nms
from tests.cuda_on_cpu.harness import emulating
from tests.ops import test_constrained_kmedoids as kmedoids_tests
from tests.ops import test_optimal_sequence_search as search_tests
from tests.ops import test_roi_align_1d as roi_align_tests
from tests.ops import test_soft_nms as soft_nms_tests
from tests.ops import test_temporal_nms as nms_tests
from tests.ops.backends import CUDA_ON_CPU
from tests.ops.strategies import segment_sets

pytestmark = pytest.mark.cuda_on_cpu
RANDOM_INPUTS = 1000


def on_random_inputs(module, strategies: dict, check) -> None:
    """Runs check(**drawn) on RANDOM_INPUTS draws of the strategies; checks that they all ran and that the
    emulated kernels were launched."""
    ran = []
    launches = module.launches()

    @settings(max_examples=RANDOM_INPUTS, deadline=None)
    @given(**strategies)
    def each(**drawn):
        ran.append(check(**drawn))

    each()
    assert len(ran) >= RANDOM_INPUTS
    assert module.launches() - launches >= sum(ran)  # check returns how many launches it expects at least


def test_temporal_nms_on_random_inputs(cuda_on_cpu_module):
    def check(data, threshold, offset, at_threshold, epsilon):
        segments, scores, idxs = data
        kwargs = dict(length_offset=offset, suppress_at_threshold=at_threshold, union_epsilon=epsilon)
        assert nms_tests.run(CUDA_ON_CPU, segments, scores, threshold, idxs, **kwargs) == \
            nms_tests.run("reference", segments, scores, threshold, idxs, **kwargs)
        return 2 if len(scores) else 0  # the mask, the sweep

    # Up to 150 rows in a group: one to three 64-row tiles per side, most of them partial.
    on_random_inputs(cuda_on_cpu_module, dict(
        data=segment_sets(max_size=150), threshold=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0, 0.45]),
        offset=st.sampled_from([0.0, 1.0]), at_threshold=st.booleans(), epsilon=st.sampled_from([0.0, 1e-6])), check)


def test_soft_nms_on_random_inputs(cuda_on_cpu_module):
    def check(data, method, sigma, threshold, min_score, max_keep, epsilon):
        segments, scores, idxs = data
        kwargs = dict(method=method, sigma=sigma, iou_threshold=threshold, min_score=min_score, max_keep=max_keep,
                      union_epsilon=epsilon)
        indices, out = soft_nms_tests.run(CUDA_ON_CPU, segments, scores, idxs, **kwargs)
        expected_indices, expected = soft_nms_tests.run("reference", segments, scores, idxs, **kwargs)
        assert indices.tolist() == expected_indices.tolist()
        tolerance = 1e-12 if scores.dtype == torch.float64 else 1e-6
        torch.testing.assert_close(out, expected, rtol=tolerance, atol=tolerance)
        return 1 if len(scores) else 0

    on_random_inputs(cuda_on_cpu_module, dict(
        data=segment_sets(max_size=24, max_groups=3), method=st.sampled_from(["gaussian", "linear", "hard"]),
        sigma=st.sampled_from([0.1, 0.5, 1.0]), threshold=st.sampled_from([0.0, 0.3, 0.5, 0.9]),
        min_score=st.sampled_from([0.0, 1e-3, 0.2]), max_keep=st.sampled_from([None, 1, 3]),
        epsilon=st.sampled_from([0.0, 1e-6])), check)


def test_optimal_sequence_search_on_random_inputs(cuda_on_cpu_module):
    def check(seed, batch, max_length, dtype):
        cas, act_seed, bkg_seed, labels, lengths = search_tests.lacp_like_batch(batch, max_length, 3, seed)
        act_seed = search_tests.searchable(act_seed, bkg_seed, lengths)
        cas = cas.to(dtype)
        got = search_tests.run(CUDA_ON_CPU, cas, act_seed, bkg_seed, labels, lengths)
        expected = search_tests.run("reference", cas, act_seed, bkg_seed, labels, lengths)
        assert torch.equal(got[0], expected[0])
        torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-12 if dtype == torch.float64 else 1e-6)
        return 1

    on_random_inputs(cuda_on_cpu_module, dict(
        seed=st.integers(0, 2**31 - 1), batch=st.integers(1, 4), max_length=st.sampled_from([1, 2, 5, 30, 120, 300]),
        dtype=st.sampled_from([torch.float32, torch.float64])), check)


def test_constrained_kmedoids_on_random_inputs(cuda_on_cpu_module):
    def check(seed, max_length, patterns, dtype, distance, max_iter, background_sample, duplicates, layout,
              action_medoids):
        gen = torch.Generator().manual_seed(seed)
        lengths = [max_length, *torch.randint(0, max_length + 1, (len(patterns) - 1,), generator=gen).tolist()]
        dim = int(torch.randint(1, 20, (1,), generator=gen))
        batch = kmedoids_tests.kmedoids_batch(gen, lengths, patterns, dim=dim, dtype=dtype, duplicates=duplicates)
        kwargs = dict(distance=distance, max_iter=max_iter, background_sample=background_sample, seed=seed,
                      action_medoids=action_medoids, **layout)
        kmedoids_tests.assert_same(kmedoids_tests.run(CUDA_ON_CPU, *batch, **kwargs),
                                   kmedoids_tests.run("reference", *batch, **kwargs))
        return 1

    on_random_inputs(cuda_on_cpu_module, dict(
        seed=st.integers(0, 2**31 - 1), max_length=st.sampled_from([1, 2, 7, 30, 90]),
        patterns=st.lists(st.sampled_from(kmedoids_tests.PATTERNS), min_size=1, max_size=4),
        dtype=st.sampled_from([torch.float32, torch.float64]), distance=st.sampled_from(["cosine", "euclidean"]),
        max_iter=st.sampled_from([1, 2, 10]), background_sample=st.sampled_from([1, 4, 512]), duplicates=st.booleans(),
        layout=st.sampled_from(kmedoids_tests.LAYOUTS + [dict(background="gap", background_span=9)]),
        action_medoids=st.sampled_from(["points", "update"])), check)


def test_roi_align_1d_on_random_inputs(cuda_on_cpu_module):
    def check(seed, videos, channels, snippets, count, output_size, sampling_ratio, aligned, scale, dtype):
        features, rois = roi_align_tests.random_case(seed, videos, channels, snippets, count, dtype)
        roi_align_tests.assert_matches_reference(CUDA_ON_CPU, features, rois, output_size, aligned=aligned,
                                                 sampling_ratio=sampling_ratio, spatial_scale=scale)
        return 2 if count else 0  # forward and backward; no RoIs: zeros, no launch

    # Up to 700 outputs per call: one to three 256-thread blocks, the last partial.
    on_random_inputs(cuda_on_cpu_module, dict(
        seed=st.integers(0, 2**31 - 1), videos=st.integers(1, 3), channels=st.integers(1, 6),
        snippets=st.integers(1, 40), count=st.integers(0, 12), output_size=st.integers(1, 9),
        sampling_ratio=st.integers(-1, 3), aligned=st.booleans(), scale=st.sampled_from([1.0, 0.5, 2.0]),
        dtype=st.sampled_from([torch.float32, torch.float64])), check)


# ---- launch geometry ----

def test_nms_groups_around_the_tile_size():
    # One call, groups of 1 … 257 rows: full and partial 64-row tiles, up to 5 words per mask row.
    sizes = [1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 257]
    segments, scores, _ = proposals(1, sum(sizes), seed=11)
    idxs = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    for threshold in (0.0, 0.3, 0.7):
        assert nms_tests.run(CUDA_ON_CPU, segments, scores, threshold, idxs) == \
            nms_tests.run("reference", segments, scores, threshold, idxs)


def test_thousands_of_groups():
    segments, scores, idxs = proposals(4200, 4, seed=12)  # THUMOS14 test: 210 videos x 20 classes
    assert nms_tests.run(CUDA_ON_CPU, segments, scores, 0.5, idxs) == \
        nms_tests.run("reference", segments, scores, 0.5, idxs)
    segments, scores, idxs = proposals(2000, 2, seed=13, dtype=torch.float64)
    got = soft_nms_tests.run(CUDA_ON_CPU, segments, scores, idxs, method="linear", iou_threshold=0.1)
    expected = soft_nms_tests.run("reference", segments, scores, idxs, method="linear", iou_threshold=0.1)
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=1e-12, atol=1e-12)


def test_thousands_of_video_class_pairs():
    # 200 videos x 20 classes: 4 000 blocks, most of them (classes without points) returning at once.
    cas, act_seed, bkg_seed, labels, lengths = search_tests.lacp_like_batch(200, 40, 20, seed=14)
    act_seed = search_tests.searchable(act_seed, bkg_seed, lengths)
    got = search_tests.run(CUDA_ON_CPU, cas, act_seed, bkg_seed, labels, lengths)
    expected = search_tests.run("reference", cas, act_seed, bkg_seed, labels, lengths)
    assert torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)


def test_the_most_points_per_video():
    """The THUMOS14 training video with the most points, its real point structure, through the sequence search
    (select_seeds's seeds) and the k-medoids; and a video that is a point at every snippet."""
    from ptal.ops import select_seeds
    from tests.ops.sequences import action_features, thumos14_seed_batch

    cas, points, lengths = thumos14_seed_batch(torch.Generator().manual_seed(15))
    most = int(points.sum((1, 2)).argmax())
    cas, points, lengths = cas[most:most + 1], points[most:most + 1], lengths[most:most + 1]
    act_seed, bkg_seed = select_seeds(cas, points, lengths)
    got = search_tests.run(CUDA_ON_CPU, cas, act_seed, bkg_seed, points.amax(1), lengths)
    expected = search_tests.run("reference", cas, act_seed, bkg_seed, points.amax(1), lengths)
    assert int(points.sum()) > 50 and torch.equal(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)

    snippets = torch.nonzero(points[0].amax(1)).flatten()
    length = int(lengths[0])
    features = action_features(torch.Generator().manual_seed(16), [length, 64], [snippets.tolist(), list(range(64))],
                               dim=32)
    padded = torch.full((2, max(snippets.numel(), 64)), -1, dtype=torch.int64)
    padded[0, :snippets.numel()], padded[1, :64] = snippets, torch.arange(64)
    batch = (features, padded, torch.zeros_like(padded).clamp(min=0), torch.tensor([length, 64]))
    for kwargs in (dict(action_medoids="update"), dict(background="video", distance="euclidean")):
        kmedoids_tests.assert_same(kmedoids_tests.run(CUDA_ON_CPU, *batch, **kwargs),
                                   kmedoids_tests.run("reference", *batch, **kwargs))


def test_many_videos_for_the_kmedoids():
    gen = torch.Generator().manual_seed(17)
    lengths = torch.randint(0, 25, (600,), generator=gen).tolist()
    patterns = [kmedoids_tests.PATTERNS[i % len(kmedoids_tests.PATTERNS)] for i in range(600)]
    batch = kmedoids_tests.kmedoids_batch(gen, lengths, patterns, dim=5, dtype=torch.float32, duplicates=True)
    kwargs = dict(action_medoids="update", max_iter=3)
    kmedoids_tests.assert_same(kmedoids_tests.run(CUDA_ON_CPU, *batch, **kwargs),
                               kmedoids_tests.run("reference", *batch, **kwargs))


def test_roi_align_1d_over_many_blocks():
    """ActionFormer-like sizes, cut down: 4 videos x 16 channels, 200 RoIs x 8 bins (25 600 outputs: 100 blocks of
    the forward, 64 gradient rows in one block of the backward), both conventions."""
    features, rois = roi_align_tests.random_case(21, 4, 16, 120, 200, torch.float32)
    for aligned in (False, True):
        roi_align_tests.assert_matches_reference(CUDA_ON_CPU, features, rois, 8, aligned=aligned)


def test_a_group_too_large_for_the_sweep_is_refused(cuda_on_cpu_module):
    limit = cuda_on_cpu_module.max_nms_group_size
    assert (limit + 63) // 64 * 8 == 48 * 1024  # the largest group's sweep: all the shared memory a launch gets
    segments = torch.arange(limit + 1, dtype=torch.float32)[:, None] * torch.tensor([1.0, 1.0])
    with pytest.raises(ValueError, match=f"groups of at most {limit} segments"):
        temporal_nms(segments, torch.rand(limit + 1), 0.5, backend="cuda")


def test_results_do_not_depend_on_the_order_of_the_blocks(cuda_on_cpu_module):
    """Blocks run in a shuffled order (any order is a GPU's right); in their order too, the same results."""
    segments, scores, idxs = proposals(40, 30, seed=18)
    cas, act_seed, bkg_seed, labels, lengths = search_tests.lacp_like_batch(6, 50, 3, seed=19)
    act_seed = search_tests.searchable(act_seed, bkg_seed, lengths)
    batch = kmedoids_tests.kmedoids_batch(torch.Generator().manual_seed(20), [30, 12, 0, 25], ["random", "ends", "none",
                                          "dense"], dim=4, dtype=torch.float64, duplicates=False)

    def outputs():
        return (nms_tests.run(CUDA_ON_CPU, segments, scores, 0.5, idxs),
                soft_nms_tests.run(CUDA_ON_CPU, segments, scores, idxs),
                search_tests.run(CUDA_ON_CPU, cas, act_seed, bkg_seed, labels, lengths),
                constrained_kmedoids(*batch, action_medoids="update", backend="cuda"))

    shuffled = outputs()
    try:
        cuda_on_cpu_module.set_block_order_seed(0)
        in_order = outputs()
    finally:
        cuda_on_cpu_module.set_block_order_seed(1)
    assert in_order[0] == shuffled[0]
    for got, expected in zip(in_order[1:], shuffled[1:]):
        assert all(torch.equal(a, b) for a, b in zip(got, expected))


def test_the_emulation_restores_what_it_changed(cuda_on_cpu_module):
    import sys

    from ptal_core import backends
    from ptal_core.native import soft_nms

    def lookups():
        return sys.modules.get("ptal_core._cuda"), backends.why_unavailable, soft_nms.cuda_stream

    before = lookups()
    with emulating(cuda_on_cpu_module):
        assert backends.compiled_module("_cuda") is cuda_on_cpu_module
        assert backends.why_unavailable("cuda", torch.device("cpu")) is None
        with soft_nms.cuda_stream(torch.device("cpu")) as stream:
            assert stream == 0
    assert lookups() == before
