import json
import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from ptal.data.activitynet import Segments, load_ground_truth, load_predictions
from ptal.data.datasets import dataset_spec
from ptal.eval import DetectionResult, detection_map
from tests.eval import activitynet_reference
from tests.eval.workloads import THUMOS14_GT, synthetic_predictions

THUMOS_THRESHOLDS = np.linspace(0.1, 0.7, 7)


def gt_doc(annotations_by_video: dict, subset: str = "test") -> dict:
    return {"database": {video: {"subset": subset, "annotations": [{"segment": [s, e], "label": label}
                                                                   for s, e, label in rows]}
                         for video, rows in annotations_by_video.items()}}


def pred_doc(predictions_by_video: dict) -> dict:
    return {"version": "test", "external_data": {}, "results": {
        video: [{"segment": [s, e], "label": label, "score": score} for s, e, label, score in rows]
        for video, rows in predictions_by_video.items()}}


def assert_matches_reference(ground_truth: dict, predictions: dict, thresholds, subset=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # predictions on videos outside the ground truth
        result = detection_map(ground_truth, predictions, thresholds, subset=subset)
    names, ap, mean_ap = activitynet_reference.evaluate(ground_truth, predictions, thresholds, subset=subset)
    rows = [result.class_names.index(name) for name in names]
    np.testing.assert_allclose(result.ap[rows], ap.T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.map, mean_ap, rtol=0, atol=1e-9)
    return result


# --- hand-checked values -------------------------------------------------------------------------

def test_hand_checked_duplicate_and_missed_threshold():
    # Class x: ground truth g1 = [0, 10], g2 = [20, 30] in video a.
    #   p1 [2, 10]   score .9: tIoU .8 with g1
    #   p2 [0, 10]   score .8: tIoU 1 with g1 (a duplicate once p1 holds g1)
    #   p3 [25, 35]  score .7: tIoU 5/15 = 1/3 with g2
    # t=.3: TP FP TP -> precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
    # t=.5: TP FP FP -> AP = 1/2 * 1 = 1/2
    # t=.9: FP TP FP -> precision 0, 1/2, 1/3; AP = 1/2 * 1/2 = 1/4
    # Class y: ground truth [0, 4], [10, 14] in video b; q1 misses (score .9), q2, q3 hit:
    #   precision 0, 1/2, 2/3 at the hits -> interpolated AP = 1/2 * 2/3 + 1/2 * 2/3 = 2/3 at every threshold.
    ground_truth = gt_doc({"a": [(0, 10, "x"), (20, 30, "x")], "b": [(0, 4, "y"), (10, 14, "y")]})
    predictions = pred_doc({"a": [(2, 10, "x", .9), (0, 10, "x", .8), (25, 35, "x", .7)],
                            "b": [(50, 60, "y", .9), (0, 4, "y", .8), (10, 14, "y", .7)]})
    result = detection_map(ground_truth, predictions, [0.3, 0.5, 0.9])
    assert result.class_names == ["x", "y"]
    np.testing.assert_allclose(result.ap, [[5 / 6, 1 / 2, 1 / 4], [2 / 3, 2 / 3, 2 / 3]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.map, [(5 / 6 + 2 / 3) / 2, (1 / 2 + 2 / 3) / 2, (1 / 4 + 2 / 3) / 2])
    assert result.averages == {}  # no THUMOS grid in [.3, .5, .9]


def test_hand_checked_false_positive_on_video_without_ground_truth():
    # The .7 prediction is on video c, which has no ground truth: a false positive, as officially.
    # Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 5/6.
    ground_truth = gt_doc({"a": [(0, 10, "x"), (20, 30, "x")]})
    predictions = pred_doc({"a": [(0, 10, "x", .9), (21, 30, "x", .5)], "c": [(0, 1, "x", .7)]})
    with pytest.warns(UserWarning, match="1 prediction\\(s\\) on 1 video\\(s\\) outside"):
        result = detection_map(ground_truth, predictions, THUMOS_THRESHOLDS)
    np.testing.assert_allclose(result.map, np.full(7, 5 / 6))
    assert result.averages == pytest.approx({"0.1:0.5": 5 / 6, "0.3:0.7": 5 / 6, "0.1:0.7": 5 / 6})


def test_threshold_is_inclusive():
    # tIoU exactly 0.5 (intersection 5, union 10) is a match at 0.5, not at 0.6.
    result = detection_map(gt_doc({"a": [(0, 10, "x")]}), pred_doc({"a": [(5, 10, "x", .5)]}), [0.5, 0.6])
    np.testing.assert_array_equal(result.ap, [[1.0, 0.0]])


def test_class_without_predictions_scores_zero_and_counts_in_the_mean():
    result = detection_map(gt_doc({"a": [(0, 10, "x"), (0, 10, "y")]}), pred_doc({"a": [(0, 10, "x", .5)]}), [0.5])
    np.testing.assert_array_equal(result.ap, [[1.0], [0.0]])
    np.testing.assert_array_equal(result.map, [0.5])


def test_empty_predictions_give_zero():
    result = detection_map(gt_doc({"a": [(0, 10, "x")]}), pred_doc({}), THUMOS_THRESHOLDS)
    np.testing.assert_array_equal(result.map, np.zeros(7))


def test_class_without_ground_truth_is_not_scored():
    ground_truth = load_ground_truth(gt_doc({"a": [(0, 10, "x")]}), class_names=["x", "z"])
    predictions = load_predictions(pred_doc({"a": [(0, 10, "x", .9), (0, 10, "z", .8)]}),
                                   ground_truth.video_ids, ground_truth.class_names)
    with pytest.warns(UserWarning, match="ignored 1 prediction\\(s\\) of classes without ground-truth instances: z"):
        result = detection_map(ground_truth, predictions, [0.5])
    assert np.isnan(result.ap[1]).all()
    np.testing.assert_array_equal(result.map, [1.0])
    assert result.to_dict()["ap"] == {"x": [1.0], "z": None}


# --- documented decisions where the official code is arbitrary ----------------------------------------

def test_equal_scores_take_the_earlier_row_first():
    ground_truth = gt_doc({"a": [(0, 10, "x")]})
    miss, hit = (50, 60, "x", .5), (0, 10, "x", .5)
    assert detection_map(ground_truth, pred_doc({"a": [miss, hit]}), [0.5]).map[0] == 0.5
    assert detection_map(ground_truth, pred_doc({"a": [hit, miss]}), [0.5]).map[0] == 1.0


def test_equal_tiou_takes_the_earlier_ground_truth():
    # p = [1, 3] has tIoU 1/3 with both g1 = [0, 2] and g2 = [2, 4]; it takes g1, so q = [2, 4] can take g2.
    ground_truth = gt_doc({"a": [(0, 2, "x"), (2, 4, "x")]})
    predictions = pred_doc({"a": [(1, 3, "x", .9), (2, 4, "x", .8)]})
    assert detection_map(ground_truth, predictions, [0.3]).map[0] == 1.0


def test_zero_length_segments_do_not_match():
    result = detection_map(gt_doc({"a": [(5, 5, "x")]}), pred_doc({"a": [(5, 5, "x", .9)]}), [0.1])
    assert result.map[0] == 0.0


# --- against the reference -------------------------------------------------------------------------

def random_documents(rng: np.random.Generator, grid: float | None):
    """Ground truth and tie-free predictions on a few videos; with ``grid``, bounds are multiples of it
    (so tIoUs often equal a threshold exactly), else continuous."""
    classes = [f"c{i}" for i in range(int(rng.integers(1, 4)))]
    videos = [f"v{i}" for i in range(int(rng.integers(1, 5)))]

    def bounds(n, max_length):
        start = rng.uniform(0, 40, n)
        end = start + rng.uniform(0, max_length, n)
        if grid:
            start, end = np.round(start / grid) * grid, np.round(end / grid) * grid
        return start.tolist(), end.tolist()

    gt_rows = {}
    for video in videos:
        n = int(rng.integers(0, 6))
        starts, ends = bounds(n, 10)
        gt_rows[video] = [(s, max(e, s + (grid or 0.5)), classes[rng.integers(len(classes))])
                          for s, e in zip(starts, ends)]
    gt_rows[videos[0]].append((0.0, 5.0, classes[0]))  # at least one instance
    scores = rng.permutation(1000)[:200] / 1000 + 0.0005  # distinct
    pred_rows, used = {}, 0
    for video in [*videos, "unannotated"]:
        n = int(rng.integers(0, 15))
        starts, ends = bounds(n, 12)
        jitter = rng.random(n) < 0.5
        video_rows = gt_rows.get(video, [])
        for k in range(n):
            if jitter[k] and video_rows:
                s, e, _ = video_rows[rng.integers(len(video_rows))]
                starts[k], ends[k] = s + (e - s) * rng.uniform(-.4, .4), e + (e - s) * rng.uniform(-.4, .4)
                if grid:
                    starts[k], ends[k] = round(starts[k] / grid) * grid, round(ends[k] / grid) * grid
        labels = [classes[rng.integers(len(classes))] for _ in range(n)]
        pred_rows[video] = [(s, max(s, e), c, float(scores[used + k])) for k, (s, e, c) in
                            enumerate(zip(starts, ends, labels))]
        used += n
    present = {label for rows in gt_rows.values() for _, _, label in rows}
    pred_rows = {video: [row for row in rows if row[2] in present] for video, rows in pred_rows.items()}
    return gt_doc(gt_rows), pred_doc(pred_rows)


def has_tiou_ties(ground_truth: dict, predictions: dict) -> bool:
    """Whether some prediction has equal tIoU (> 0) with two different ground-truth segments of its video and
    class, where the official tie order is unspecified."""
    for video, results in predictions["results"].items():
        annotations = ground_truth["database"].get(video, {"annotations": []})["annotations"]
        for result in results:
            segments = np.array([a["segment"] for a in annotations if a["label"] == result["label"]], dtype=float)
            if len(segments) < 2:
                continue
            tiou = activitynet_reference.segment_iou(np.array(result["segment"], dtype=float), segments)
            distinct = np.unique(segments, axis=0, return_index=True)[1]
            tiou = tiou[np.sort(distinct)]
            positive = tiou[tiou > 0]
            if len(np.unique(positive)) < len(positive):
                return True
    return False


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), grid=st.sampled_from([None, 0.5, 1.0]),
       thresholds=st.sampled_from([THUMOS_THRESHOLDS, np.linspace(0.5, 0.95, 10), np.array([0.5]),
                                   np.array([0.7, 0.1, 0.3])]))
def test_matches_reference_on_random_inputs(seed, grid, thresholds):
    ground_truth, predictions = random_documents(np.random.default_rng(seed), grid)
    assume(not has_tiou_ties(ground_truth, predictions))
    assert_matches_reference(ground_truth, predictions, thresholds)


def test_matches_reference_with_subset():
    rng = np.random.default_rng(7)
    ground_truth, predictions = random_documents(rng, None)
    ground_truth["database"]["other"] = {"subset": "train", "annotations": [{"segment": [0, 3], "label": "c0"}]}
    predictions["results"]["other"] = [{"segment": [0, 3], "label": "c0", "score": 0.99999}]
    assert_matches_reference(ground_truth, predictions, THUMOS_THRESHOLDS, subset="test")


@pytest.fixture(scope="module")
def thumos14_gt():
    return json.loads(THUMOS14_GT.read_text())


def test_matches_reference_on_thumos14(thumos14_gt):
    predictions = synthetic_predictions(thumos14_gt, "test", per_video=60, seed=1)
    result = assert_matches_reference(thumos14_gt, predictions, THUMOS_THRESHOLDS, subset="test")
    assert len(result.class_names) == 20
    assert 0.05 < result.map[0] < 0.9 and (np.diff(result.map) <= 1e-12).all()


@pytest.mark.parametrize("name, classes", [("gtea", 7), ("beoid", 34)])
def test_matches_reference_on_sfnets_gtea_and_beoid(name, classes):
    """SF-Net's ground truth of GTEA and BEOID (numeric segments, fps and duration fields), its validation subset."""
    ground_truth = json.loads((dataset_spec(name).packaged / "gt.json").read_text())
    predictions = synthetic_predictions(ground_truth, "validation", per_video=150, seed=3)
    result = assert_matches_reference(ground_truth, predictions, THUMOS_THRESHOLDS, subset="validation")
    assert len(result.class_names) == classes
    assert 0.05 < result.map[0] < 0.95 and (np.diff(result.map) <= 1e-12).all()


def test_thumos14_ground_truth_against_itself(thumos14_gt):
    ground_truth = load_ground_truth(thumos14_gt, subset="test")
    rng = np.random.default_rng(0)
    perfect = Segments(ground_truth.video_ids, ground_truth.class_names, ground_truth.video, ground_truth.start,
                       ground_truth.end, ground_truth.label, score=rng.permutation(len(ground_truth)) + 1.0)
    result = detection_map(ground_truth, perfect)
    np.testing.assert_allclose(result.map, np.ones(7), rtol=0, atol=1e-12)
    assert result.averages == pytest.approx({"0.1:0.5": 1.0, "0.3:0.7": 1.0, "0.1:0.7": 1.0})


# --- input forms -----------------------------------------------------------------------------------

def test_paths_dicts_segments_and_arrays_agree(tmp_path):
    ground_truth, predictions = random_documents(np.random.default_rng(3), None)
    (tmp_path / "gt.json").write_text(json.dumps(ground_truth))
    (tmp_path / "pred.json").write_text(json.dumps(predictions))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_dicts = detection_map(ground_truth, predictions)
        from_paths = detection_map(tmp_path / "gt.json", str(tmp_path / "pred.json"))
        gt_segments = load_ground_truth(ground_truth)
        pred_segments = load_predictions(predictions, gt_segments.video_ids, gt_segments.class_names)
    from_segments = detection_map(gt_segments, pred_segments)

    def columns(segments):
        return {"video": np.array(segments.video_ids)[segments.video], "start": segments.start, "end": segments.end,
                "label": np.array(segments.class_names)[segments.label],
                **({} if segments.score is None else {"score": segments.score})}

    from_arrays = detection_map(columns(gt_segments), columns(pred_segments))
    for result in (from_paths, from_segments, from_arrays):
        np.testing.assert_array_equal(result.ap, from_dicts.ap)
        assert result.class_names == from_dicts.class_names


def test_prediction_class_order_may_differ():
    ground_truth = load_ground_truth(gt_doc({"a": [(0, 10, "x"), (20, 30, "y")]}))
    predictions = Segments(["a"], ["y", "x"], video=[0, 0], start=[20.0, 0.0], end=[30.0, 10.0], label=[0, 1],
                           score=[0.5, 0.4])
    np.testing.assert_array_equal(detection_map(ground_truth, predictions, [0.5]).ap, [[1.0], [1.0]])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(tiou_thresholds=[]), ValueError, "tiou_thresholds must be a non-empty"),
    (dict(tiou_thresholds=[0.0, 0.5]), ValueError, "tiou_thresholds must lie in \\(0, 1\\]"),
    (dict(tiou_thresholds=[float("nan")]), ValueError, "tiou_thresholds must lie"),
    (dict(predictions={"results": {"a": [{"segment": [0, 1], "label": "nope", "score": 1}]}}), ValueError,
     "predictions: video 'a', prediction 0: unknown label 'nope'"),
    (dict(predictions={"results": {"a": [{"segment": [0, 1], "label": "x", "score": float("nan")}]}}), ValueError,
     "prediction 0: score must be finite"),
    (dict(predictions={"start": [0.0]}), ValueError, "predictions must be a JSON source or a mapping with arrays"),
    (dict(predictions=[1, 2]), TypeError, "predictions must be a JSON path"),
    (dict(ground_truth=Segments(["a"], ["x"], [0], [0.0], [1.0], [0], score=[1.0])), ValueError,
     "ground_truth must be a Segments without scores"),
    (dict(ground_truth={"database": {}}), ValueError, "ground_truth has no segments"),
    (dict(subset="test", ground_truth=Segments(["a"], ["x"], [0], [0.0], [1.0], [0])), ValueError,
     "subset applies to JSON ground truth only"),
])
def test_bad_input(kwargs, error, match):
    arguments = dict(ground_truth=gt_doc({"a": [(0, 10, "x")]}), predictions=pred_doc({"a": [(0, 10, "x", .5)]}))
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        detection_map(**arguments)


def test_prediction_class_unknown_to_ground_truth_segments():
    ground_truth = load_ground_truth(gt_doc({"a": [(0, 10, "x")]}))
    predictions = Segments(["a"], ["w"], video=[0], start=[0.0], end=[1.0], label=[0], score=[1.0])
    with pytest.raises(ValueError, match="predictions row 0: class 'w' is not a ground-truth class"):
        detection_map(ground_truth, predictions)


# --- subsets ---------------------------------------------------------------------------------------

def two_subsets() -> dict:
    """Ground truth of two training videos ("validation") and two test videos (ActionFormer's "Test")."""
    document = gt_doc({"train1": [(0, 10, "x")], "train2": [(0, 10, "y")]}, subset="validation")
    document["database"].update(gt_doc({"test1": [(0, 10, "x")], "test2": [(20, 30, "y")]}, subset="Test")["database"])
    return document


TEST_PREDICTIONS = pred_doc({"test1": [(0, 10, "x", .9)], "test2": [(20, 30, "y", .8)]})


def test_auto_subset_evaluates_the_predicted_subset():
    result = detection_map(two_subsets(), TEST_PREDICTIONS, [0.5], subset="auto")
    np.testing.assert_array_equal(result.map, [1.0])
    assert (result.subset.name, result.subset.automatic) == ("Test", True)
    assert result.subset.video_counts == {"validation": 2, "Test": 2}
    assert result.subset.predicted_counts == {"validation": 0, "Test": 2}
    assert result.to_dict()["subset"] == "Test"
    assert result.subset.describe() == ("ground truth has subsets validation (2 videos), Test (2): evaluating Test, "
                                        "the subset of the 2 predicted videos")


@pytest.mark.parametrize("subset", ["test", "TEST", "Test"])
def test_named_subset_ignores_case(subset):
    result = detection_map(two_subsets(), TEST_PREDICTIONS, [0.5], subset=subset)
    np.testing.assert_array_equal(result.map, [1.0])
    assert (result.subset.name, result.subset.automatic) == ("Test", False)


def test_every_video_by_default_with_a_warning_when_a_subset_has_no_predictions():
    with pytest.warns(UserWarning, match="the predictions hold no video of subset validation, whose ground truth "
                                         "counts as missed; subset='auto'"):
        result = detection_map(two_subsets(), TEST_PREDICTIONS, [0.5])
    np.testing.assert_array_equal(result.map, [0.5])  # the training videos' instances are missed
    assert result.subset.name is None and result.to_dict()["subset"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detection_map(two_subsets(), pred_doc({"test1": [], "train1": []}), [0.5])  # both subsets predicted


def test_auto_subset_refuses_predictions_of_several_subsets():
    predictions = pred_doc({"test1": [(0, 10, "x", .9)], "train1": [(0, 10, "x", .8)]})
    with pytest.raises(ValueError, match=r"the predicted videos lie in several subsets, validation \(1 of 2 videos "
                                         r"predicted\), Test \(1 of 2\): name the one to evaluate"):
        detection_map(two_subsets(), predictions, subset="auto")


def test_auto_subset_needs_a_predicted_ground_truth_video():
    with pytest.raises(ValueError, match=r"no predicted video is a ground-truth video.*the subsets are validation "
                                         r"\(2 videos\), Test \(2\)"):
        detection_map(two_subsets(), pred_doc({"elsewhere": [(0, 1, "x", .5)]}), subset="auto")


def test_auto_subset_with_one_subset_or_segments_keeps_every_video():
    result = detection_map(gt_doc({"a": [(0, 10, "x")], "b": [(0, 10, "x")]}), pred_doc({"a": [(0, 10, "x", .5)]}),
                           [0.5], subset="auto")
    np.testing.assert_array_equal(result.map, [0.5])
    assert result.subset.name == "test"
    segments = load_ground_truth(two_subsets())
    result = detection_map(segments, load_predictions(TEST_PREDICTIONS, segments.video_ids, segments.class_names),
                           [0.5], subset="auto")
    np.testing.assert_array_equal(result.map, [0.5])
    assert result.subset is None and result.to_dict()["subset"] is None


def test_auto_subset_of_predictions_given_as_segments_or_arrays():
    predictions = Segments(["train1", "test1", "test2"], ["x", "y"], video=[1, 2], start=[0.0, 20.0], end=[10.0, 30.0],
                           label=[0, 1], score=[0.9, 0.8])  # train1 has no row: not a predicted video
    result = detection_map(two_subsets(), predictions, [0.5], subset="auto")
    assert result.subset.name == "Test" and result.map.tolist() == [1.0]
    arrays = {"video": ["test1", "test2"], "start": [0.0, 20.0], "end": [10.0, 30.0], "label": ["x", "y"],
              "score": [0.9, 0.8]}
    assert detection_map(two_subsets(), arrays, [0.5], subset="auto").subset.name == "Test"
    with pytest.raises(TypeError, match="predictions must be a JSON path"):
        detection_map(two_subsets(), [1, 2], subset="auto")


def test_unknown_subset_lists_the_subsets(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(two_subsets()))
    with pytest.raises(ValueError, match=re.escape(f"{path}: no subset 'tset'; the subsets are validation "
                                                   f"(2 videos), Test (2) (case is ignored)")):
        detection_map(path, TEST_PREDICTIONS, subset="tset")


# --- result -----------------------------------------------------------------------------------

def test_result_table_and_dict():
    result = detection_map(gt_doc({"a": [(0, 10, "x")]}), pred_doc({"a": [(0, 10, "x", .5)]}))
    assert isinstance(result, DetectionResult)
    table = result.table(per_class=True)
    assert "mAP  100.00" in table and "[0.1:0.5] 100.00" in table and "\nx    100.00" in table
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert result.to_dict()["averages"] == {"0.1:0.5": 1.0, "0.3:0.7": 1.0, "0.1:0.7": 1.0}


def test_activitynet_thresholds_give_their_average():
    result = detection_map(gt_doc({"a": [(0, 10, "x")]}), pred_doc({"a": [(0, 10, "x", .5)]}),
                           np.linspace(0.5, 0.95, 10))
    assert result.averages == {"0.5:0.95": 1.0}


# --- the official order of ties ---------------------------------------------------------------------

def tied_documents(rng: np.random.Generator):
    """Ground truth with duplicated instances and predictions with few distinct scores on a coarse grid, so
    that equal scores and equal tIoUs are everywhere."""
    ground_truth, predictions = random_documents(rng, 1.0)
    for rows in ground_truth["database"].values():
        rows["annotations"] += [dict(a) for a in rows["annotations"] if rng.random() < 0.5]
    for rows in predictions["results"].values():
        for row in rows:
            row["score"] = float(rng.integers(1, 4)) / 4
    return ground_truth, predictions


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), thresholds=st.sampled_from([THUMOS_THRESHOLDS, np.array([0.5])]))
def test_official_ties_are_bit_identical_to_the_reference(seed, thresholds):
    ground_truth, predictions = tied_documents(np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = detection_map(ground_truth, predictions, thresholds, ties="official")
    names, ap, mean_ap = activitynet_reference.evaluate(ground_truth, predictions, thresholds)
    rows = [result.class_names.index(name) for name in names]
    np.testing.assert_array_equal(result.ap[rows], ap.T)
    np.testing.assert_array_equal(result.map, mean_ap)


def test_official_ties_can_differ_from_the_stable_order():
    # Two tied predictions, one a hit: the official order takes the later row first, ptal the earlier.
    ground_truth = gt_doc({"a": [(0, 10, "x")]})
    predictions = pred_doc({"a": [(0, 10, "x", .5), (50, 60, "x", .5)]})
    names, _, official = activitynet_reference.evaluate(ground_truth, predictions, [0.5])
    assert official[0] == 0.5
    assert detection_map(ground_truth, predictions, [0.5], ties="official").map[0] == official[0]
    assert detection_map(ground_truth, predictions, [0.5]).map[0] == 1.0
    with pytest.raises(ValueError, match="ties must be one of"):
        detection_map(ground_truth, predictions, [0.5], ties="numpy")


def test_official_ties_on_thumos14_without_ties_equal_the_stable_order(thumos14_gt):
    predictions = synthetic_predictions(thumos14_gt, "test", per_video=60, seed=2)
    stable = detection_map(thumos14_gt, predictions, THUMOS_THRESHOLDS, subset="test")
    official = detection_map(thumos14_gt, predictions, THUMOS_THRESHOLDS, subset="test", ties="official")
    np.testing.assert_allclose(official.ap, stable.ap, rtol=0, atol=1e-12)
    _, ap, mean_ap = activitynet_reference.evaluate(thumos14_gt, predictions, THUMOS_THRESHOLDS, subset="test")
    np.testing.assert_array_equal(official.map, mean_ap)
