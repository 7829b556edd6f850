"""ptal.compat.actionformer against ActionFormer's own code: its outputs recorded on 600 videos of
ActionFormer-like outputs (fixtures/originals.npz, made by fixtures/record_originals.py), and the original itself
when it is importable (tests/compat/originals.py)."""
import json
import pathlib

import numpy as np
import pytest
import torch

from ptal.compat.actionformer import ANETdetection, batched_nms, batched_nms_videos
from tests.compat import originals
from tests.compat.compare import assert_same_detections
from tests.compat.evaluation_data import actionformer_predictions, thumos14_files
from tests.compat.workloads import ANET, MODES, THUMOS14, mode_name, nms_settings, detector_outputs

FIXTURE = np.load(pathlib.Path(__file__).parent / "fixtures" / "originals.npz")
RECORDED_VIDEOS = {THUMOS14.name: 300, ANET.name: 300}
THUMOS_TIOUS = np.array([0.3, 0.4, 0.5, 0.6, 0.7])


def tensors(videos):
    return [tuple(torch.from_numpy(a) for a in video) for video in videos]


@pytest.fixture(scope="module")
def recorded_inputs():
    out = {}
    for dataset in (THUMOS14, ANET):
        videos = detector_outputs(dataset, RECORDED_VIDEOS[dataset.name])
        checksum = sum(float(np.float64(s).sum()) + float(np.float64(c).sum()) + float(lab.sum())
                       for s, c, lab in videos)
        assert checksum == pytest.approx(float(FIXTURE[f"actionformer/{dataset.name}/checksum"]), rel=1e-12)
        out[dataset.name] = tensors(videos)
    return out


def assert_same_as_recorded(library, dataset_name, run, videos, ours):
    """Our detections against the recorded ones, video by video (``assert_same_detections``)."""
    key = f"{library}/{dataset_name}/{run}"
    if f"{key}/same_as" in FIXTURE:  # the originals gave exactly the detections of that run (stored once)
        key = f"{library}/{dataset_name}/{FIXTURE[f'{key}/same_as']}"
    counts = FIXTURE[f"{key}/counts"].astype(np.int64)
    rows = np.split(FIXTURE[f"{key}/rows"].astype(np.int64), np.cumsum(counts)[:-1])
    scores = np.split(FIXTURE[f"{key}/scores"], np.cumsum(counts)[:-1]) if f"{key}/scores" in FIXTURE else None
    voted = np.split(FIXTURE[f"{key}/voted"], np.cumsum(counts)[:-1]) if f"{key}/voted" in FIXTURE else None
    assert len(ours) == len(videos) == counts.size
    for v, ((segments, input_scores, labels), got) in enumerate(zip(videos, ours)):
        theirs = (segments[rows[v]] if voted is None else torch.from_numpy(voted[v]),
                  input_scores[rows[v]] if scores is None else torch.from_numpy(scores[v]), labels[rows[v]])
        assert_same_detections(got, theirs, f"{key}, video {v}")


@pytest.mark.parametrize("mode", MODES, ids=mode_name)
@pytest.mark.parametrize("dataset", [THUMOS14, ANET], ids=lambda d: d.name)
def test_batched_nms_videos_equals_actionformer_recorded(recorded_inputs, dataset, mode):
    """300 THUMOS14-like and 300 ActivityNet-like videos, every mode, against ActionFormer's batched_nms."""
    videos = recorded_inputs[dataset.name]
    settings = nms_settings(dataset, mode)
    ours = batched_nms_videos(videos, **settings)
    assert_same_as_recorded("actionformer", dataset.name, mode_name(mode), videos, ours)


@pytest.mark.parametrize("dataset", [THUMOS14, ANET], ids=lambda d: d.name)
def test_batched_nms_one_video_equals_the_batched_form(dataset):
    videos = tensors(detector_outputs(dataset, 6, first_seed=5000))
    for mode in MODES:
        settings = nms_settings(dataset, mode)
        for video, batched in zip(videos, batched_nms_videos(videos, **settings)):
            for got, expected in zip(batched_nms(*video, **settings), batched, strict=True):
                assert torch.equal(got, expected)


def test_batched_nms_equals_actionformer_directly():
    """Fresh videos (seeds outside the recorded ones), every mode, against ActionFormer's code when importable."""
    actionformer = originals.actionformer()
    if actionformer is None:
        pytest.skip("set PTAL_ACTIONFORMER to an ActionFormer checkout with its NMS extension built")
    for dataset in (THUMOS14, ANET):
        videos = tensors(detector_outputs(dataset, 12, first_seed=90_000))
        for mode in MODES:
            settings = nms_settings(dataset, mode)
            for v, (video, ours) in enumerate(zip(videos, batched_nms_videos(videos, **settings))):
                assert_same_detections(ours, actionformer.batched_nms(*video, **settings),
                                       f"{dataset.name} {mode_name(mode)} video {v}")


def test_edge_cases_as_actionformer():
    segs = torch.tensor([[0.0, 10.0], [1.0, 10.0], [20.0, 30.0]])
    labels = torch.tensor([3, 3, 5])
    # No input: float32 empties and the labels' dtype.
    empty = batched_nms(segs[:0], torch.zeros(0), labels[:0].int(), 0.5, 0.001, 100)
    assert [t.shape for t in empty] == [(0, 2), (0,), (0,)] and empty[2].dtype == torch.int32
    # Soft-NMS selects the best segment even below min_score; hard NMS drops everything below it.
    low = torch.tensor([1e-4, 5e-5, 2e-4])
    s, c, lab = batched_nms(segs, low, labels, 0.5, 0.001, 100, use_soft_nms=True, multiclass=True)
    assert lab.tolist() == [5, 3] and c.tolist() == [low[2].item(), low[0].item()]
    s, c, lab = batched_nms(segs, low, labels, 0.5, 0.001, 100, use_soft_nms=False)
    assert c.shape == (0,)
    # Hard NMS suppresses at IoU >= threshold, with 1e-6 added to each length in the union: [0, 10] and [1, 10]
    # have IoU 9 / 10.000002 < 0.9 (kept at 0.9, suppressed at 0.8999, as ActionFormer does); the cap keeps the
    # best max_seg_num.
    scores = torch.tensor([0.9, 0.8, 0.7])
    s, c, lab = batched_nms(segs, scores, labels, 0.9, 0.0, 100, use_soft_nms=False, multiclass=False,
                            voting_thresh=0)
    assert c.tolist() == pytest.approx([0.9, 0.8, 0.7])
    s, c, lab = batched_nms(segs, scores, labels, 0.8999, 0.0, 100, use_soft_nms=False, multiclass=False,
                            voting_thresh=0)
    assert c.tolist() == pytest.approx([0.9, 0.7])
    s, c, lab = batched_nms(segs, scores, labels, 0.95, 0.0, 1, use_soft_nms=False, multiclass=False,
                            voting_thresh=0)
    assert c.tolist() == pytest.approx([0.9])
    # Voting: the kept [0, 10] becomes the score * IoU weighted mean of itself and [1, 10] (IoU 0.9).
    s, c, lab = batched_nms(segs, scores, labels, 0.95, 0.0, 100, use_soft_nms=False, multiclass=False,
                            voting_thresh=0.85)
    w0, w1 = 0.9 * 1.0, 0.8 * 0.9
    assert s[0].tolist() == pytest.approx([(w1 * 1.0) / (w0 + w1), 10.0])
    # Labels far apart are still separate classes, taken in increasing order.
    far = torch.tensor([10**12, 10**12, -7])
    s, c, lab = batched_nms(segs, scores, far, 0.8999, 0.0, 100, use_soft_nms=False, multiclass=True)
    assert lab.tolist() == [10**12, -7] and c.tolist() == pytest.approx([0.9, 0.7])
    # NumPy arrays and ActionFormer's result dicts are taken.
    as_dict = batched_nms_videos([{"segments": segs, "scores": scores, "labels": labels}], 0.5, 0.0, 10)
    assert torch.equal(as_dict[0][1], batched_nms(segs.numpy(), scores.numpy(), labels.numpy(), 0.5, 0.0, 10)[1])


def test_bad_input_names_the_video():
    segs, scores, labels = torch.rand(4, 2), torch.rand(4), torch.zeros(4, dtype=torch.int64)
    with pytest.raises(ValueError, match="video 1: scores must have shape"):
        batched_nms_videos([(segs, scores, labels), (segs, scores[:3], labels)], 0.5, 0.001, 10)
    with pytest.raises(ValueError, match="video 0: segs must be a float"):
        batched_nms(segs[:, 0], scores, labels, 0.5, 0.001, 10)
    with pytest.raises(ValueError, match="video 0: cls_idxs must be an integer"):
        batched_nms(segs, scores, labels.float(), 0.5, 0.001, 10)
    with pytest.raises(TypeError, match="one dtype"):
        batched_nms_videos([(segs, scores, labels), (segs.double(), scores.double(), labels)], 0.5, 0.001, 10)
    with pytest.raises(ValueError, match="segments must have end >= start"):
        batched_nms(segs.flip(1) + torch.tensor([1.0, 0.0]), scores, labels, 0.5, 0.001, 10)


@pytest.fixture(scope="module")
def thumos14_evaluation(tmp_path_factory):
    return thumos14_files(tmp_path_factory.mktemp("actionformer"))


@pytest.mark.parametrize("decimals", [None, 2], ids=["distinct-scores", "tied-scores"])
def test_anetdetection_equals_actionformer_recorded(thumos14_evaluation, decimals):
    path, results, classes = thumos14_evaluation
    evaluator = ANETdetection(path, "test", tiou_thresholds=THUMOS_TIOUS)
    mean_ap, average, recall = evaluator.evaluate(actionformer_predictions(results, classes, decimals), verbose=False)
    key = f"actionformer/anetdetection/{'exact' if decimals is None else f'rounded{decimals}'}"
    np.testing.assert_allclose(mean_ap, FIXTURE[f"{key}/map"], rtol=0, atol=1e-9)
    assert average == pytest.approx(float(FIXTURE[f"{key}/average_map"]), abs=1e-9)
    np.testing.assert_allclose(recall, FIXTURE[f"{key}/recall"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(evaluator.ap, FIXTURE[f"{key}/ap"], rtol=0, atol=1e-9)
    assert recall.shape == (5, 2) and evaluator.ap.shape == (5, 20)


def test_anetdetection_equals_actionformer_directly(thumos14_evaluation):
    actionformer = originals.actionformer()
    if actionformer is None or not hasattr(actionformer, "ANETdetection"):
        pytest.skip("set PTAL_ACTIONFORMER (and install pandas) to compare with ActionFormer's ANETdetection")
    path, results, classes = thumos14_evaluation
    predictions = actionformer_predictions(results, classes, 1)  # many ties
    theirs = actionformer.ANETdetection(path, "test", tiou_thresholds=THUMOS_TIOUS, num_workers=1)
    ours = ANETdetection(path, "test", tiou_thresholds=THUMOS_TIOUS)
    for got, expected in zip(ours.evaluate(predictions, verbose=False), theirs.evaluate(predictions, verbose=False)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_anetdetection_reads_files_and_maps_labels(thumos14_evaluation, tmp_path, capsys):
    path, results, classes = thumos14_evaluation
    predictions = actionformer_predictions(results, classes)
    expected = ANETdetection(path, "test", tiou_thresholds=THUMOS_TIOUS).evaluate(predictions, verbose=True)
    assert "[RESULTS] Action detection results on thumos14." in capsys.readouterr().out
    # ActionFormer's prediction file format gives the same numbers.
    database = {}
    for video, start, end, label, score in zip(*(predictions[k] for k in ("video-id", "t-start", "t-end", "label",
                                                                          "score"))):
        database.setdefault(video, []).append({"segment": [start, end], "label_id": int(label), "scores": score})
    file = tmp_path / "predictions.json"
    file.write_text(json.dumps({"database": database}))
    got = ANETdetection(path, "test", tiou_thresholds=THUMOS_TIOUS).evaluate(str(file), verbose=False)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # Labels outside the ground truth's are not scored: every AP and recall is 0.
    unknown = dict(predictions, label=predictions["label"] + 100)
    zero = ANETdetection(path, "test", tiou_thresholds=THUMOS_TIOUS).evaluate(unknown, verbose=False)
    assert np.all(zero[0] == 0) and zero[1] == 0 and np.all(zero[2] == 0)
