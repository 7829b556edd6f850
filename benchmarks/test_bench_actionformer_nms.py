"""CPU NMS and Gaussian soft-NMS side by side with ActionFormer's C++ extension (``nms_1d_cpu``, what TAL
codebases run today), on the same detections: 210 videos x 2 000 (ActionFormer's ``pre_nms_topk``), float32.

ActionFormer runs its extension once per video (its ``batched_nms`` then adds Python work per class, not
counted here); ptal runs one call over all videos, grouped by ``idxs``. Settings as ActionFormer's THUMOS14
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


@pytest.fixture(scope="module")
def detections():
    segments, scores, video = proposals(VIDEOS, PER_VIDEO)
    per_video = [(segments[video == v].contiguous(), scores[video == v].contiguous()) for v in range(VIDEOS)]
    return segments, scores, video, per_video


@pytest.fixture(scope="module")
def timings():
    return {}


def actionformer_nms(per_video):
    return [nms_1d_cpu.nms(segments, scores, IOU) for segments, scores in per_video]


def actionformer_soft_nms(per_video):
    kept = []
    for segments, scores in per_video:
        sorted_detections = segments.new_empty((segments.shape[0], 3))
        kept.append(nms_1d_cpu.softnms(segments, scores, sorted_detections, IOU, SIGMA, MIN_SCORE, GAUSSIAN))
    return kept


def ptal_nms(segments, scores, video):
    return temporal_nms(segments, scores, IOU, video, suppress_at_threshold=True)


def ptal_soft_nms(segments, scores, video):
    return soft_nms(segments, scores, video, method="gaussian", sigma=SIGMA, min_score=MIN_SCORE)[2]


@pytest.mark.parametrize("method", ["hard", "gaussian"])
def test_actionformer(benchmark, detections, timings, method):
    benchmark.group = f"CPU {method} NMS, {VIDEOS} videos x {PER_VIDEO}"
    run = actionformer_nms if method == "hard" else actionformer_soft_nms
    benchmark(run, detections[3])
    timings["actionformer", method] = benchmark.stats.stats.median


@pytest.mark.parametrize("method", ["hard", "gaussian"])
def test_ptal(benchmark, detections, timings, method):
    benchmark.group = f"CPU {method} NMS, {VIDEOS} videos x {PER_VIDEO}"
    run = ptal_nms if method == "hard" else ptal_soft_nms
    benchmark(run, *detections[:3])
    timings["ptal", method] = benchmark.stats.stats.median


@pytest.mark.parametrize("method", ["hard", "gaussian"])
def test_same_kept_detections_and_speedup(detections, timings, method, record_property):
    segments, scores, video, per_video = detections
    actionformer = actionformer_nms(per_video) if method == "hard" else actionformer_soft_nms(per_video)
    kept = (ptal_nms if method == "hard" else ptal_soft_nms)(segments, scores, video)
    first_row = torch.arange(VIDEOS) * PER_VIDEO  # rows are by video
    for v, theirs in enumerate(actionformer):
        ours = kept[video[kept] == v] - first_row[v]
        assert sorted(ours.tolist()) == sorted(theirs.tolist()), f"video {v}"
    if {("actionformer", method), ("ptal", method)} - timings.keys():
        pytest.skip("needs test_actionformer and test_ptal in the same run")
    speedup = timings["actionformer", method] / timings["ptal", method]
    record_property("speedup", speedup)
    print(f"\n{method}: ActionFormer {1e3 * timings['actionformer', method]:.1f} ms, "
          f"ptal {1e3 * timings['ptal', method]:.1f} ms: {speedup:.1f}x, same kept detections")
