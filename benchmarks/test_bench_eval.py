"""Detection mAP on the THUMOS14 test split (210 videos, real ground truth, 1 000 synthetic predictions per
video): the faithful Python re-implementation of the official ActivityNet code vs ptal's numba kernels.

    pytest benchmarks/test_bench_eval.py
"""
import json

import numpy as np
import pytest

from ptal.data.activitynet import load_ground_truth, load_predictions
from ptal.eval import detection_map
from tests.eval import activitynet_reference
from tests.eval.workloads import THUMOS14_GT, synthetic_predictions

THRESHOLDS = np.linspace(0.1, 0.7, 7)
PER_VIDEO = 1000


@pytest.fixture(scope="module")
def workload():
    if not THUMOS14_GT.exists():
        pytest.skip(f"THUMOS14 annotations not found at {THUMOS14_GT}")
    ground_truth = json.loads(THUMOS14_GT.read_text())
    predictions = synthetic_predictions(ground_truth, "test", PER_VIDEO, seed=0)
    gt_segments = load_ground_truth(ground_truth, subset="test")
    pred_segments = load_predictions(predictions, gt_segments.video_ids, gt_segments.class_names)
    detection_map(gt_segments, pred_segments, THRESHOLDS)  # numba JIT (or cache load) outside the timing
    return ground_truth, predictions, gt_segments, pred_segments


@pytest.fixture(scope="module")
def timings():
    return {}


def test_reference(benchmark, workload, timings):
    ground_truth, predictions, _, _ = workload
    _, _, mean_ap = benchmark.pedantic(activitynet_reference.evaluate, args=(ground_truth, predictions, THRESHOLDS),
                                       kwargs=dict(subset="test"), rounds=1, iterations=1, warmup_rounds=0)
    timings["reference"] = (benchmark.stats.stats.median, mean_ap)


def test_ptal(benchmark, workload, timings):
    _, _, gt_segments, pred_segments = workload
    result = benchmark(detection_map, gt_segments, pred_segments, THRESHOLDS)
    timings["ptal"] = (benchmark.stats.stats.median, result.map)


def test_ptal_from_json_dicts(benchmark, workload):
    """The same, including the validation and conversion of the JSON documents."""
    ground_truth, predictions, _, _ = workload
    benchmark.pedantic(detection_map, args=(ground_truth, predictions, THRESHOLDS), kwargs=dict(subset="test"),
                       rounds=3, iterations=1)


def test_speedup(timings, record_property):
    if {"reference", "ptal"} - timings.keys():
        pytest.skip("needs test_reference and test_ptal in the same run")
    (reference_s, reference_map), (ptal_s, ptal_map) = timings["reference"], timings["ptal"]
    np.testing.assert_allclose(ptal_map, reference_map, rtol=0, atol=1e-9)
    speedup = reference_s / ptal_s
    record_property("speedup", speedup)
    print(f"\nmedians: reference {reference_s:.3f} s, ptal {1e3 * ptal_s:.2f} ms: {speedup:.0f}x")
