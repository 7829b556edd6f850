"""Every CUDA kernel of ptal, through its glue, on a set of inputs small enough for a sanitizer, each result held
to the reference: ``python -m tests.cuda_on_cpu.workload MODULE [CHECK ...]`` (MODULE: a harness module's path;
CHECK: an op of CHECKS, all by default, or a planted error of PLANTED). The sanitizer tests
(test_sanitizers.py) run it in a Python process with the sanitizer's runtime preloaded. Exits 1 at the first
mismatch."""
import sys
from pathlib import Path

import torch

from benchmarks.workloads import proposals
from tests.cuda_on_cpu.harness import emulating, load
from tests.ops import test_constrained_kmedoids as kmedoids_tests
from tests.ops import test_optimal_sequence_search as search_tests
from tests.ops import test_roi_align_1d as roi_align_tests
from tests.ops import test_soft_nms as soft_nms_tests
from tests.ops import test_temporal_nms as nms_tests
from tests.ops.backends import CUDA_ON_CPU


def segment_cases(sizes):
    """(segments, scores, idxs) of `groups` groups of `size` proposals for each (groups, size), in both dtypes."""
    for seed, (groups, size) in enumerate(sizes):
        for dtype in (torch.float32, torch.float64):
            yield proposals(groups, size, seed=seed, dtype=dtype)


def check_temporal_nms():
    # Groups around the 64-row tile, several groups; and ties (the lower index first).
    cases = list(segment_cases([(1, 1), (1, 63), (1, 64), (2, 65), (3, 130), (5, 17)]))
    cases.append((torch.tensor([[0.0, 1.0]] * 70 + [[0.5, 1.5]] * 10), torch.full((80,), 0.5),
                  torch.zeros(80, dtype=torch.int64)))
    for segments, scores, idxs in cases:
        for threshold in (0.0, 0.5):
            got = nms_tests.run(CUDA_ON_CPU, segments, scores, threshold, idxs)
            assert got == nms_tests.run("reference", segments, scores, threshold, idxs), "temporal_nms"


def check_soft_nms():
    # Every selection is a round of block reductions over 256 threads: small groups.
    methods = ["gaussian", "linear", "hard"]
    for i, (segments, scores, idxs) in enumerate(segment_cases([(1, 1), (1, 9), (2, 17), (4, 6)])):
        kwargs = dict(method=methods[i % 3], iou_threshold=0.3)
        got = soft_nms_tests.run(CUDA_ON_CPU, segments, scores, idxs, **kwargs)
        expected = soft_nms_tests.run("reference", segments, scores, idxs, **kwargs)
        assert torch.equal(got[0], expected[0]), "soft_nms"
        torch.testing.assert_close(got[1], expected[1], rtol=1e-6, atol=1e-6)


def check_optimal_sequence_search():
    for seed, (batch, max_length, dtype) in enumerate([(3, 5, torch.float64), (4, 60, torch.float32),
                                                      (2, 300, torch.float64)]):
        cas, act_seed, bkg_seed, labels, lengths = search_tests.lacp_like_batch(batch, max_length, 3, seed)
        act_seed = search_tests.searchable(act_seed, bkg_seed, lengths)
        got = search_tests.run(CUDA_ON_CPU, cas.to(dtype), act_seed, bkg_seed, labels, lengths)
        expected = search_tests.run("reference", cas.to(dtype), act_seed, bkg_seed, labels, lengths)
        assert torch.equal(got[0], expected[0]), "optimal_sequence_search"
        torch.testing.assert_close(got[1], expected[1], rtol=0, atol=1e-6)


def check_constrained_kmedoids():
    gen = torch.Generator().manual_seed(0)
    for lengths, patterns, dtype, kwargs in [
        ([9, 0, 4], ["random", "none", "one"], torch.float64, dict(distance="euclidean", background="video")),
        ([40, 25], ["dense", "ends"], torch.float32, dict(action_medoids="update", background_span=4)),
        ([70, 3], ["adjacent", "random"], torch.float64, dict(action_medoids="update", background_sample=4)),
    ]:
        batch = kmedoids_tests.kmedoids_batch(gen, lengths, patterns, dim=6, dtype=dtype, duplicates=True)
        got = kmedoids_tests.run(CUDA_ON_CPU, *batch, max_iter=4, **kwargs)
        kmedoids_tests.assert_same(got, kmedoids_tests.run("reference", *batch, max_iter=4, **kwargs))


def check_roi_align_1d():
    for seed, (videos, channels, snippets, count, dtype) in enumerate([(1, 1, 1, 1, torch.float64),
                                                                      (2, 3, 30, 9, torch.float32),
                                                                      (3, 4, 50, 40, torch.float64)]):
        features, rois = roi_align_tests.random_case(seed, videos, channels, snippets, count, dtype)
        for kwargs in (dict(), dict(aligned=True, sampling_ratio=2)):
            roi_align_tests.assert_matches_reference(CUDA_ON_CPU, features, rois, 5, **kwargs)


def write_past_a_buffer():
    """Not a check: the NMS sweep on a `keep` buffer one byte short, which it writes past (its last row is kept).
    AddressSanitizer must report it."""
    from ptal_core import backends

    segments = torch.tensor([[0.0, 1.0], [2.0, 3.0]])  # one group of two rows that do not overlap: one tile
    offsets, tile_offsets, mask_offsets = torch.tensor([0, 2]), torch.tensor([0, 1]), torch.tensor([0, 2])
    mask, keep = torch.zeros(2, dtype=torch.int64), torch.zeros(1, dtype=torch.uint8)
    backends.compiled_module("_cuda").temporal_nms_f32(
        segments.data_ptr(), offsets.data_ptr(), tile_offsets.data_ptr(), mask_offsets.data_ptr(), 1, 1, 1, 0.5, 0.0,
        0.0, False, mask.data_ptr(), keep.data_ptr(), 0)


CHECKS = {"temporal_nms": check_temporal_nms, "soft_nms": check_soft_nms,
          "optimal_sequence_search": check_optimal_sequence_search, "constrained_kmedoids": check_constrained_kmedoids,
          "roi_align_1d": check_roi_align_1d}
PLANTED = {"write_past_a_buffer": write_past_a_buffer}


def main(path: str, *ops: str) -> None:
    torch.set_num_threads(1)
    module = load(Path(path))
    with emulating(module):
        for op in ops or CHECKS:
            if op in PLANTED:
                PLANTED[op]()
                continue
            CHECKS[op]()
            print(op, "matches the reference", flush=True)
    print(f"{module.launches()} launches, {module.blocks()} blocks", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
