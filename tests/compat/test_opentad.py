"""ptal.compat.opentad against OpenTAD's own code: recorded (fixtures/originals.npz) and direct when importable."""
import json

import numpy as np
import pytest
import torch

from ptal.compat.opentad import batched_nms, batched_nms_videos, mAP
from tests.compat import originals
from tests.compat.compare import assert_same_detections
from tests.compat.evaluation_data import thumos14_files
from tests.compat.test_actionformer import FIXTURE, assert_same_as_recorded, tensors
from tests.compat.workloads import ANET, MODES, THUMOS14, mode_name, nms_settings, detector_outputs

RECORDED_VIDEOS = {THUMOS14.name: 40, ANET.name: 100}
T1_T2 = dict(t1=0.1, t2=0.02)
THUMOS_TIOUS = [0.3, 0.4, 0.5, 0.6, 0.7]


def runs() -> list:
    out = []
    for mode in MODES:
        for method in ((0, 1, 2, 3) if mode["use_soft_nms"] else (2,)):
            name = f"{mode_name(mode)}-method{method}" if mode["use_soft_nms"] else mode_name(mode)
            out.append(pytest.param(mode, method, id=name))
    return out


@pytest.fixture(scope="module")
def recorded_inputs():
    return {dataset.name: tensors(detector_outputs(dataset, RECORDED_VIDEOS[dataset.name])) for dataset in (THUMOS14, ANET)}


@pytest.mark.parametrize("mode, method", runs())
@pytest.mark.parametrize("dataset", [THUMOS14, ANET], ids=lambda d: d.name)
def test_batched_nms_videos_equals_opentad_recorded(recorded_inputs, dataset, mode, method):
    settings = dict(nms_settings(dataset, mode), method=method, **(T1_T2 if mode["use_soft_nms"] else {}))
    name = f"{mode_name(mode)}-method{method}" if mode["use_soft_nms"] else mode_name(mode)
    videos = recorded_inputs[dataset.name]
    assert_same_as_recorded("opentad", dataset.name, name, videos, batched_nms_videos(videos, **settings))


def test_batched_nms_equals_opentad_directly():
    opentad = originals.opentad()
    if opentad is None:
        pytest.skip("set PTAL_OPENTAD to an OpenTAD checkout with its NMS extension built")
    for dataset in (THUMOS14, ANET):
        videos = tensors(detector_outputs(dataset, 6, first_seed=70_000))
        for param in runs():
            mode, method = param.values
            settings = dict(nms_settings(dataset, mode), method=method, t1=0.05, t2=0.01)
            for v, (video, ours) in enumerate(zip(videos, batched_nms_videos(videos, **settings))):
                assert_same_detections(ours, opentad.batched_nms(*video, **settings), f"{param.id} video {v}")
        # OpenTAD's defaults: Gaussian soft-NMS per class, min_score 0, 100 detections, no voting.
        for video in videos[:2]:
            assert_same_detections(batched_nms(*video), opentad.batched_nms(*video), "defaults")


def test_defaults_float32_and_method_numbers():
    segs = torch.tensor([[0.0, 10.0], [1.0, 10.0], [20.0, 30.0]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1])
    s, c, lab = batched_nms(segs, scores, labels)
    assert s.dtype == c.dtype == torch.float32 and lab.tolist() == [0, 1, 0]
    assert c[2].item() == pytest.approx(0.8 * np.exp(-0.81 / 0.5), rel=1e-6)  # Gaussian, IoU 0.9
    c = batched_nms(segs, scores, labels, iou_threshold=0.8999, method=0)[1]  # hard, IoU >= 0.8999: zeroed
    assert sorted(c.tolist()) == pytest.approx([0.0, 0.7, 0.9])
    c = batched_nms(segs, scores, labels, iou_threshold=0.9, method=0)[1]  # their IoU 9 / 10.000002 < 0.9
    assert sorted(c.tolist()) == pytest.approx([0.7, 0.8, 0.9])
    c = batched_nms(segs, scores, labels, iou_threshold=0.5, method=1)[1]  # linear: 0.8 * (1 - their IoU)
    assert sorted(c.tolist()) == pytest.approx([0.8 * (1 - 9 / 10.000002), 0.7, 0.9])
    c = batched_nms(segs, scores, labels, method=3, t1=0.95, t2=0.0)[1]  # IoU 0.9 below t1: no decay
    assert sorted(c.tolist()) == pytest.approx([0.7, 0.8, 0.9])
    c = batched_nms(segs, scores, labels, method=3, t1=0.0, t2=0.08)[1]  # threshold 0.08 * 10: decayed
    assert sorted(c.tolist())[0] == pytest.approx(0.8 * np.exp(-0.81 / 0.5), rel=1e-6)
    with pytest.raises(ValueError, match="method must be one of"):
        batched_nms(segs, scores, labels, method=4)


@pytest.fixture(scope="module")
def thumos14(tmp_path_factory):
    path, results, _ = thumos14_files(tmp_path_factory.mktemp("opentad"))
    return path, results


def rounded(results, decimals):
    return {"results": {video: [dict(p, score=round(p["score"], decimals) if decimals else p["score"])
                                 for p in predictions] for video, predictions in results["results"].items()}}


@pytest.mark.parametrize("decimals", [None, 2], ids=["distinct-scores", "tied-scores"])
def test_map_equals_opentad_recorded(thumos14, decimals):
    path, results = thumos14
    metrics = mAP(path, rounded(results, decimals), "Test", THUMOS_TIOUS, top_k=(1, 5)).evaluate()
    key = f"opentad/map/{'exact' if decimals is None else f'rounded{decimals}'}"
    assert list(metrics) == FIXTURE[f"{key}/keys"].tolist()
    np.testing.assert_allclose([float(v) for v in metrics.values()], FIXTURE[f"{key}/values"], rtol=0, atol=1e-9)


def test_map_equals_opentad_directly(thumos14):
    opentad = originals.opentad()
    if opentad is None or not hasattr(opentad, "mAP"):
        pytest.skip("set PTAL_OPENTAD (and install pandas) to compare with OpenTAD's mAP")
    path, results = thumos14
    for top_k in (None, (1, 5)):
        theirs = opentad.mAP(path, rounded(results, 1), "Test", THUMOS_TIOUS, top_k=top_k, thread=1).evaluate()
        ours = mAP(path, rounded(results, 1), "Test", THUMOS_TIOUS, top_k=top_k).evaluate()
        assert list(ours) == list(theirs)
        np.testing.assert_allclose(list(ours.values()), list(theirs.values()), rtol=0, atol=1e-9)


def test_map_blocked_videos_unknown_labels_and_logging(thumos14, tmp_path, capsys):
    path, results = thumos14
    video = next(iter(results["results"]))
    blocked = tmp_path / "blocked.json"
    blocked.write_text(json.dumps([video]))
    with_unknown = {"results": dict(results["results"])}
    with_unknown["results"][video] = [dict(p, label="NotAClass") for p in results["results"][video]]
    # An unknown label is not scored, and a blocked video is out of both ground truth and predictions.
    evaluator = mAP(path, with_unknown, "Test", THUMOS_TIOUS, blocked_videos=str(blocked))
    assert video not in set(evaluator.ground_truth["video"].tolist())
    kept = {"results": {v: p for v, p in results["results"].items() if v != video}}
    assert evaluator.evaluate() == mAP(path, kept, "Test", THUMOS_TIOUS, blocked_videos=str(blocked)).evaluate()
    evaluator.logging()
    assert "Average-mAP" in capsys.readouterr().out
    with pytest.raises(OSError, match="not a prediction file: no field 'results'"):
        mAP(path, {"database": {}}, "Test", THUMOS_TIOUS)
