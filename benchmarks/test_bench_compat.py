"""The ActionFormer and OpenTAD drop-ins (ptal.compat) beside the originals, on the same work, on the CPU.

    PTAL_ACTIONFORMER=... PTAL_OPENTAD=... pytest benchmarks/test_bench_compat.py -s

The originals run from checkouts outside this repository (see tests/compat/originals.py); each comparison is
skipped when its original is not importable. Work:
- post-processing of a test set, each dataset with its ActionFormer config: 213 THUMOS14-like videos
  (~8 400 candidates each, 20 classes; Gaussian soft-NMS per class, sigma 0.5, 200 detections) and 1 000
  ActivityNet-like videos (~230 candidates, class-agnostic Gaussian soft-NMS, sigma 0.75, voting 0.9, 100
  detections), plus hard NMS (IoU 0.5) on both. The originals loop over the videos (``batched_nms`` per video,
  which loops over classes); ptal runs ``batched_nms_videos`` once, and also ``batched_nms`` in the same loop;
- evaluation: THUMOS14 test (213 videos, 3 311 instances) with 200 predictions per video, tIoU 0.3:0.7:
  ActionFormer's ``ANETdetection(...).evaluate`` (its default 8 joblib workers) and OpenTAD's ``mAP`` (its default
  16 processes, top-1/5x recall) beside ptal's.
Each original runs once (rounds=1), ptal calibrated; every pair is checked equal before its ratio is printed.
"""
import numpy as np
import pytest
import torch

from benchmarks.machine import describe
from ptal.compat import actionformer, opentad
from tests.compat import originals
from tests.compat.compare import assert_same_detections
from tests.compat.evaluation_data import actionformer_predictions, thumos14_files
from tests.compat.workloads import ANET, THUMOS14, nms_settings, detector_outputs

THUMOS_TIOUS = [0.3, 0.4, 0.5, 0.6, 0.7]
SETS = {"thumos14": (THUMOS14, 213, True), "activitynet": (ANET, 1000, False)}  # multiclass as their configs
LIBRARIES = {"actionformer": (actionformer, originals.actionformer), "opentad": (opentad, originals.opentad)}


@pytest.fixture(scope="module")
def timings():
    print(f"\nmachine: {describe()}")
    return {}


@pytest.fixture(scope="module")
def inputs():
    return {name: [tuple(torch.from_numpy(a) for a in video) for video in detector_outputs(dataset, count)]
            for name, (dataset, count, _) in SETS.items()}


def settings(library, name, soft):
    dataset, _, multiclass = SETS[name]
    kwargs = nms_settings(dataset, dict(use_soft_nms=soft, multiclass=multiclass, voting=not multiclass))
    return kwargs if library == "actionformer" else dict(kwargs, method=2)


CASES = [(library, name, soft) for library in LIBRARIES for name in SETS for soft in (True, False)]


def case_id(case):
    library, name, soft = case
    return f"{library}-{name}-{'soft' if soft else 'hard'}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("runner", ["original-loop", "ptal-loop", "ptal-batched"])
def test_batched_nms(benchmark, timings, inputs, case, runner):
    library, name, soft = case
    kwargs = settings(library, name, soft)
    videos = inputs[name]
    benchmark.group = f"batched_nms {case_id(case)}: {len(videos)} videos"
    ours, load_original = LIBRARIES[library]
    if runner == "original-loop":
        original = load_original()
        if original is None:
            pytest.skip(f"{library} is not importable (tests/compat/originals.py)")
        result = benchmark.pedantic(lambda: [original.batched_nms(*v, **kwargs) for v in videos], rounds=1,
                                    iterations=1)
    elif runner == "ptal-loop":
        result = benchmark.pedantic(lambda: [ours.batched_nms(*v, **kwargs) for v in videos], rounds=3, iterations=1)
    else:
        result = benchmark(ours.batched_nms_videos, videos, **kwargs)
    timings[case, runner] = (benchmark.stats.stats.median, result)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_batched_nms_same_results_and_speedup(timings, case):
    needed = {(case, runner) for runner in ("original-loop", "ptal-loop", "ptal-batched")}
    if needed - timings.keys():
        pytest.skip("needs the three runs of test_batched_nms in the same session")
    original = timings[case, "original-loop"]
    for runner in ("ptal-loop", "ptal-batched"):
        for v, (theirs, ours) in enumerate(zip(original[1], timings[case, runner][1], strict=True)):
            assert_same_detections(ours, theirs, f"{case_id(case)} {runner} video {v}")
    loop, batched = timings[case, "ptal-loop"][0], timings[case, "ptal-batched"][0]
    print(f"\n{case_id(case)}: original loop {original[0]:.3f} s, ptal loop {loop:.3f} s "
          f"({original[0] / loop:.1f}x), ptal batched {batched:.3f} s ({original[0] / batched:.1f}x); same detections")


@pytest.fixture(scope="module")
def thumos14(tmp_path_factory):
    path, results, classes = thumos14_files(tmp_path_factory.mktemp("compat"))
    return path, results, actionformer_predictions(results, classes)


def evaluate(library, implementation, thumos14):
    path, results, predictions = thumos14
    if library == "actionformer":
        evaluator = implementation.ANETdetection(path, "test", tiou_thresholds=np.array(THUMOS_TIOUS))
        return lambda: evaluator.evaluate(predictions, verbose=False)
    return lambda: implementation.mAP(path, results, "Test", THUMOS_TIOUS, top_k=(1, 5)).evaluate()


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("runner", ["original", "ptal"])
def test_evaluation(benchmark, timings, thumos14, library, runner):
    benchmark.group = f"{library} evaluation, THUMOS14 test, 200 predictions per video"
    ours, load_original = LIBRARIES[library]
    if runner == "original":
        original = load_original()
        if original is None or not hasattr(original, "ANETdetection" if library == "actionformer" else "mAP"):
            pytest.skip(f"{library}'s evaluation is not importable (tests/compat/originals.py)")
        result = benchmark.pedantic(evaluate(library, original, thumos14), rounds=1, iterations=1)
    else:
        run = evaluate(library, ours, thumos14)
        run()  # numba's compiled functions load from their cache
        result = benchmark(run)
    timings[library, runner] = (benchmark.stats.stats.median, result)


@pytest.mark.parametrize("library", LIBRARIES)
def test_evaluation_same_numbers_and_speedup(timings, library):
    if {(library, "original"), (library, "ptal")} - timings.keys():
        pytest.skip("needs both runs of test_evaluation in the same session")
    (theirs_time, theirs), (ours_time, ours) = timings[library, "original"], timings[library, "ptal"]
    if library == "actionformer":
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    else:
        assert list(ours) == list(theirs)
        np.testing.assert_allclose(list(ours.values()), list(theirs.values()), rtol=0, atol=1e-9)
    print(f"\n{library} evaluation: original {theirs_time:.2f} s, ptal {ours_time * 1e3:.1f} ms "
          f"({theirs_time / ours_time:.0f}x); same numbers")
