"""CPU NMS and Gaussian soft-NMS side by side with ActionFormer's C++ extension (``nms_1d_cpu``, what TAL
codebases run today), on the same detections: 210 videos x 2 000 (ActionFormer's ``pre_nms_topk``), float32.

Two groupings: by video (class-agnostic, 210 groups of 2 000), and by video and class (its default,
multiclass NMS: 20 classes, 4 200 groups of ~100). ActionFormer runs its extension once per group (its
``batched_nms`` adds Python work per class, not counted here); ptal runs one call over all groups (``idxs``). Settings as ActionFormer's THUMOS14
config: IoU 0.5 with suppression at IoU >= threshold (its rule) for hard NMS; sigma 0.5, min_score 0.001 for
soft-NMS. Both keep the same detections (checked). ActionFormer's extension is not part of ptal; build it
outside this repository, into the same environment:

    git clone https://github.com/happyharrycn/actionformer_release
    cd actionformer_release/libs/utils && pip install --no-build-isolation .

    pytest benchmarks/test_bench_actionformer_nms.py -s   (OMP_NUM_THREADS=1: ptal on one core as well)
"""
import pytest
import torch

from benchmarks.workloads import proposals
from ptal.ops import soft_nms, temporal_nms

nms_1d_cpu = pytest.importorskip(
    "nms_1d_cpu", reason="ActionFormer's NMS extension is not built (see this file's docstring for how)")

VIDEOS, PER_VIDEO = 210, 2000
IOU, SIGMA, MIN_SCORE = 0.5, 0.5, 0.001
GAUSSIAN = 2  # ActionFormer's soft-NMS method code


GROUPINGS = ("video", "video-class")
CLASSES = 20


@pytest.fixture(scope="module")
def workloads():
    """grouping -> (segments, scores, idxs, [(segments, scores, first row) of every group])."""
    segments, scores, video = proposals(VIDEOS, PER_VIDEO)
    label = torch.randint(0, CLASSES, video.shape, generator=torch.Generator().manual_seed(1))
    by_video_and_class = video * CLASSES + label
    order = torch.argsort(by_video_and_class, stable=True)  # the rows of each group together, as users hold them
    out = {}
    for grouping, (rows, idxs) in {"video": (torch.arange(video.numel()), video),
                                   "video-class": (order, by_video_and_class[order])}.items():
        segments_g, scores_g = segments[rows].contiguous(), scores[rows].contiguous()
        first = torch.nn.functional.pad(torch.cumsum(torch.bincount(idxs), 0), (1, 0)).tolist()
        groups = [(segments_g[a:b], scores_g[a:b], a) for a, b in zip(first, first[1:]) if b > a]
        out[grouping] = (segments_g, scores_g, idxs, groups)
    return out


@pytest.fixture(scope="module")
def timings():
    return {}


def actionformer_nms(groups):
    return [nms_1d_cpu.nms(segments, scores, IOU) for segments, scores, _ in groups]


def actionformer_soft_nms(groups):
    kept = []
    for segments, scores, _ in groups:
        sorted_detections = segments.new_empty((segments.shape[0], 3))
        kept.append(nms_1d_cpu.softnms(segments, scores, sorted_detections, IOU, SIGMA, MIN_SCORE, GAUSSIAN))
    return kept


def ptal_nms(segments, scores, idxs):
    return temporal_nms(segments, scores, IOU, idxs, suppress_at_threshold=True)


def ptal_soft_nms(segments, scores, idxs):
    return soft_nms(segments, scores, idxs, method="gaussian", sigma=SIGMA, min_score=MIN_SCORE)[2]


@pytest.mark.parametrize("grouping", GROUPINGS)
@pytest.mark.parametrize("method", ["hard", "gaussian"])
def test_actionformer(benchmark, workloads, timings, method, grouping):
    benchmark.group = f"CPU {method} NMS, {VIDEOS} videos x {PER_VIDEO}, groups by {grouping}"
    run = actionformer_nms if method == "hard" else actionformer_soft_nms
    benchmark(run, workloads[grouping][3])
    timings["actionformer", method, grouping] = benchmark.stats.stats.median


@pytest.mark.parametrize("grouping", GROUPINGS)
@pytest.mark.parametrize("method", ["hard", "gaussian"])
def test_ptal(benchmark, workloads, timings, method, grouping):
    benchmark.group = f"CPU {method} NMS, {VIDEOS} videos x {PER_VIDEO}, groups by {grouping}"
    run = ptal_nms if method == "hard" else ptal_soft_nms
    benchmark(run, *workloads[grouping][:3])
    timings["ptal", method, grouping] = benchmark.stats.stats.median


@pytest.mark.parametrize("grouping", GROUPINGS)
@pytest.mark.parametrize("method", ["hard", "gaussian"])
def test_same_kept_detections_and_speedup(workloads, timings, method, grouping, record_property):
    segments, scores, idxs, groups = workloads[grouping]
    actionformer = actionformer_nms(groups) if method == "hard" else actionformer_soft_nms(groups)
    kept = (ptal_nms if method == "hard" else ptal_soft_nms)(segments, scores, idxs)
    ours = {}
    for row in kept.tolist():
        ours.setdefault(int(idxs[row]), []).append(row)
    for (_, _, first), theirs in zip(groups, actionformer):
        group = int(idxs[first])
        assert sorted(ours.get(group, [])) == sorted((theirs + first).tolist()), f"group {group}"
    if {("actionformer", method, grouping), ("ptal", method, grouping)} - timings.keys():
        pytest.skip("needs test_actionformer and test_ptal in the same run")
    speedup = timings["actionformer", method, grouping] / timings["ptal", method, grouping]
    record_property("speedup", speedup)
    print(f"\n{method}, groups by {grouping}: ActionFormer {1e3 * timings['actionformer', method, grouping]:.1f} ms, "
          f"ptal {1e3 * timings['ptal', method, grouping]:.1f} ms: {speedup:.1f}x, same kept detections")
