"""Detection mAP on the THUMOS14 test split (210 videos, real ground truth, 1 000 synthetic predictions per
video, 22 MB of JSON): the official ActivityNet code (as LACP's release ships it, when given), the faithful
NumPy re-implementation of it (tests/eval/activitynet_reference.py) and ptal, from the JSON files (reading
and checking them included), and ptal from arrays already in memory.

The official code is not part of ptal: clone the LACP release (github.com/Pilhyeon/
Learning-Action-Completeness-from-Points), `pip install pandas joblib`, and pass its folder:

    LACP_RELEASE=PATH pytest benchmarks/test_bench_eval.py -s
"""
import contextlib
import json
import os
import sys

import numpy as np
import pytest

from ptal.data.activitynet import load_ground_truth, load_predictions
from ptal.eval import detection_map
from tests.eval import activitynet_reference
from tests.eval.workloads import THUMOS14_GT, synthetic_predictions

THRESHOLDS = np.linspace(0.1, 0.7, 7)
PER_VIDEO = 1000


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    ground_truth = json.loads(THUMOS14_GT.read_text())
    predictions = synthetic_predictions(ground_truth, "test", PER_VIDEO, seed=0)
    prediction_file = tmp_path_factory.mktemp("eval") / "predictions.json"
    prediction_file.write_text(json.dumps(predictions))
    gt_segments = load_ground_truth(ground_truth, subset="test")
    pred_segments = load_predictions(predictions, gt_segments.video_ids, gt_segments.class_names)
    for ties in ("stable", "official"):  # numba JIT (or cache load) outside the timing
        detection_map(gt_segments, pred_segments, THRESHOLDS, ties=ties)
    return str(THUMOS14_GT), str(prediction_file), gt_segments, pred_segments


@pytest.fixture(scope="module")
def timings():
    return {}


def reference_from_files(gt_file, prediction_file):
    with open(gt_file) as gt, open(prediction_file) as predictions:
        return activitynet_reference.evaluate(json.load(gt), json.load(predictions), THRESHOLDS, subset="test")


def test_reference_from_files(benchmark, workload, timings):
    _, _, mean_ap = benchmark.pedantic(reference_from_files, args=workload[:2], rounds=1, iterations=1,
                                       warmup_rounds=0)
    timings["reference"] = (benchmark.stats.stats.median, mean_ap)


def test_official_code_from_files(benchmark, workload, timings):
    release = os.environ.get("LACP_RELEASE")
    if not release:
        pytest.skip("set LACP_RELEASE to a clone of the LACP release to run the official evaluation code")
    pytest.importorskip("pandas")
    joblib = pytest.importorskip("joblib")
    sys.path.insert(0, release)
    from eval.eval_detection import ANETdetection  # the release's eval/: the official code, pandas and joblib

    def run():
        # The code uses np.float, gone from NumPy 2: restored for it, and its class-parallel workers forked from
        # this process, so that they see it.
        with joblib.parallel_backend("multiprocessing"), _numpy_float_alias():
            return ANETdetection(workload[0], workload[1], tiou_thresholds=THRESHOLDS, subset="test").evaluate()[0]

    mean_ap = benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    timings["official"] = (benchmark.stats.stats.median, mean_ap)


@contextlib.contextmanager
def _numpy_float_alias():
    np.float = float
    try:
        yield
    finally:
        del np.float


@pytest.mark.parametrize("ties", ["stable", "official"])
def test_ptal_from_files(benchmark, workload, timings, ties):
    result = benchmark.pedantic(detection_map, args=workload[:2], kwargs=dict(subset="test", ties=ties), rounds=5,
                                iterations=1)
    timings["files", ties] = (benchmark.stats.stats.median, result.map)


@pytest.mark.parametrize("ties", ["stable", "official"])
def test_ptal_from_arrays(benchmark, workload, timings, ties):
    result = benchmark(detection_map, *workload[2:], THRESHOLDS, ties=ties)
    timings["arrays", ties] = (benchmark.stats.stats.median, result.map)


def test_same_numbers_and_speedup(timings, record_property):
    if {"reference", ("files", "stable"), ("files", "official"), ("arrays", "stable")} - timings.keys():
        pytest.skip("needs the other tests of this file in the same run")
    reference_s, reference_map = timings["reference"]
    official_s, official_map = timings.get("official", (None, reference_map))
    np.testing.assert_allclose(official_map, reference_map, rtol=0, atol=1e-12)
    for key, (seconds, mean_ap) in timings.items():
        if key in ("reference", "official"):
            continue
        source, ties = key
        np.testing.assert_allclose(mean_ap, reference_map, rtol=0, atol=0 if ties == "official" else 1e-12)
        record_property(f"speedup {source} {ties}", reference_s / seconds)
        versus_official = f", {official_s / seconds:.0f}x the official code ({official_s:.1f} s)" if official_s else ""
        print(f"\nptal from {source}, ties={ties}: {1e3 * seconds:.1f} ms, {reference_s / seconds:.0f}x the "
              f"re-implementation from files ({reference_s:.2f} s){versus_official}", end="")
