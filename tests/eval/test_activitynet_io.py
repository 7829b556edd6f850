import json
import os

import numpy as np
import pytest

from ptal.data.activitynet import (JsonDocument, Segments, choose_subset, load_ground_truth, load_predictions,
                                   predicted_video_ids, read_json_document, subset_videos, write_predictions)
from tests.eval.workloads import THUMOS14_GT

GROUND_TRUTH = {"database": {
    "b": {"subset": "test", "annotations": [{"segment": ["1.5", "3"], "label": "Jump"},
                                            {"segment": [4, 9.25], "label": "Dive"}]},
    "a": {"subset": "train", "annotations": [{"segment": [0, 1], "label": "Swim"}]},
    "c": {"subset": "test", "annotations": []},
}}


def test_load_ground_truth_keeps_file_order_and_videos_without_segments():
    gt = load_ground_truth(GROUND_TRUTH, subset="test")
    assert gt.video_ids == ["b", "c"] and gt.class_names == ["Dive", "Jump"] and gt.score is None
    np.testing.assert_array_equal(gt.video, [0, 0])
    np.testing.assert_array_equal(gt.start, [1.5, 4.0])
    np.testing.assert_array_equal(gt.end, [3.0, 9.25])
    np.testing.assert_array_equal(gt.label, [1, 0])
    assert len(gt.of_video("c")) == 0 and len(gt.of_video("b")) == 2


def test_load_ground_truth_all_subsets_and_given_classes(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(GROUND_TRUTH))
    gt = load_ground_truth(path, class_names=["Swim", "Jump", "Dive", "Run"])
    assert gt.video_ids == ["b", "a", "c"]
    np.testing.assert_array_equal(gt.label, [1, 2, 0])
    with pytest.raises(ValueError, match="video 'a', annotation 0: unknown label 'Swim'"):
        load_ground_truth(path, class_names=["Jump", "Dive"])


@pytest.mark.parametrize("annotation, match", [
    ({"segment": [3, 1], "label": "x"}, "annotation 0: segment end < start"),
    ({"segment": ["nan", 1], "label": "x"}, "annotation 0: segment start must be finite"),
    ({"segment": ["one", 2], "label": "x"}, "annotation 0: segment start must be a number, got 'one'"),
    ({"segment": [1], "label": "x"}, "annotation 0: segment must be \\[start, end\\]"),
    ({"segment": [1, 2]}, "annotation 0: missing field 'label'"),
    ({"segment": [True, 2], "label": "x"}, "annotation 0: segment start must be a number, got True"),
    ("oops", "annotation 0: must be an object"),
])
def test_bad_ground_truth_rows(annotation, match):
    with pytest.raises(ValueError, match=f"ground truth: video 'v', {match}"):
        load_ground_truth({"database": {"v": {"subset": "test", "annotations": [annotation]}}})


def test_bad_ground_truth_file(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=f"{path}: not valid JSON"):
        load_ground_truth(path)
    with pytest.raises(ValueError, match="ground truth: missing field 'database'"):
        load_ground_truth({"results": {}})
    with pytest.raises(ValueError, match="video 'v': missing field 'subset'"):
        load_ground_truth({"database": {"v": {"annotations": []}}}, subset="test")
    with pytest.raises(TypeError, match="ground truth source must be a path or a dict"):
        load_ground_truth(3)


def test_unknown_subset_lists_the_subsets():
    with pytest.raises(ValueError, match=r"ground truth: no subset 'val'; the subsets are test \(2 videos\), "
                                         r"train \(1\) \(case is ignored\)"):
        load_ground_truth(GROUND_TRUTH, subset="val")
    with pytest.raises(ValueError, match="no subset 'test': the file has no subsets"):
        load_ground_truth({"database": {}}, subset="test")


def test_subset_videos_merge_spellings_in_file_order():
    document = {"database": {"a": {"subset": "Test", "annotations": []}, "b": {"subset": "train", "annotations": []},
                             "c": {"subset": "test", "annotations": []}}}
    assert subset_videos(document) == {"Test": ["a", "c"], "train": ["b"]}
    assert subset_videos({"database": {"a": {"annotations": []}}}) == {}
    with pytest.raises(ValueError, match="video 'b': missing field 'subset'"):
        subset_videos({"database": {"a": {"subset": "test", "annotations": []}, "b": {"annotations": []}}})


def test_choose_subset():
    auto = choose_subset(GROUND_TRUTH, ["c", "elsewhere"])
    assert (auto.name, auto.automatic, auto.video_counts, auto.predicted_counts) == (
        "test", True, {"test": 2, "train": 1}, {"test": 1, "train": 0})
    assert choose_subset(GROUND_TRUTH, ["a"], "TRAIN").name == "train"
    assert choose_subset(GROUND_TRUTH, ["a", "b"], None).name is None
    with pytest.raises(ValueError, match=r"lie in several subsets, test \(1 of 2 videos predicted\), train \(1 of 1\)"):
        choose_subset(GROUND_TRUTH, ["a", "b"])
    with pytest.raises(ValueError, match="no predicted video is a ground-truth video"):
        choose_subset(GROUND_TRUTH, [])
    only = choose_subset({"database": {"v": {"annotations": []}}}, [])
    assert (only.name, only.describe()) == (None, "ground truth has no subsets: evaluating every video")


def test_json_documents_are_read_once_and_keep_their_file_name(tmp_path):
    path = tmp_path / "pred.json"
    path.write_text(json.dumps({"results": {"b": [{"segment": [2, 1], "label": "Dive", "score": 1}], "c": []}}))
    document = read_json_document(path, "predictions")
    assert document == JsonDocument(str(path), json.loads(path.read_text()))
    assert read_json_document(document, "predictions") is document
    assert predicted_video_ids(document) == ["b", "c"]
    path.unlink()
    with pytest.raises(ValueError, match=f"{path}: video 'b', prediction 0: segment end < start"):
        load_predictions(document, ["b"], ["Dive"])


def test_load_predictions_keeps_other_videos_with_one_warning():
    document = {"results": {"b": [{"segment": ["1", "2"], "label": "Jump", "score": 0.5}],
                            "x": [{"segment": [0, 1], "label": "Dive", "score": 0.25}] * 2,
                            "y": [{"segment": [0, 1], "label": "Dive", "score": 0.125}]}}
    with pytest.warns(UserWarning, match="3 prediction\\(s\\) on 2 video\\(s\\) outside video_ids") as caught:
        predictions = load_predictions(document, ["b", "c"], ["Dive", "Jump"])
    assert len(caught) == 1
    assert predictions.video_ids == ["b", "c", "x", "y"]
    np.testing.assert_array_equal(predictions.video, [0, 2, 2, 3])
    np.testing.assert_array_equal(predictions.score, [0.5, 0.25, 0.25, 0.125])


@pytest.mark.parametrize("row, match", [
    ({"segment": [0, 1], "label": "Run", "score": 1}, "prediction 0: unknown label 'Run'"),
    ({"segment": [0, 1], "label": "Dive"}, "prediction 0: score must be a number, got None"),
    ({"segment": [0, 1], "label": "Dive", "score": float("inf")}, "prediction 0: score must be finite"),
    ({"segment": [0, float("nan")], "label": "Dive", "score": 1}, "prediction 0: segment end must be finite"),
    ({"segment": [2, 1], "label": "Dive", "score": 1}, "prediction 0: segment end < start"),
])
def test_bad_prediction_rows(row, match):
    with pytest.raises(ValueError, match=f"predictions: video 'b', {match}"):
        load_predictions({"results": {"b": [row]}}, ["b"], ["Dive"])


def test_bad_prediction_documents():
    with pytest.raises(ValueError, match="predictions: missing field 'results'"):
        load_predictions({"database": {}}, [], [])
    with pytest.raises(ValueError, match="video 'b': must be a list of predictions"):
        load_predictions({"results": {"b": {}}}, ["b"], [])


def test_write_predictions_round_trips_atomically(tmp_path):
    predictions = Segments(["v1", "v2", "v3"], ["A", "B"], video=[1, 0, 1], start=[0.1, 2.0, 1 / 3],
                           end=[0.2, 2.5, 2 / 3], label=[0, 1, 1], score=[0.9, 0.8, 1 / 7])
    path = tmp_path / "pred.json"
    path.write_text("old")
    write_predictions(path, predictions)
    assert os.listdir(tmp_path) == ["pred.json"]
    document = json.loads(path.read_text())
    assert document["results"]["v3"] == [] and set(document) == {"version", "external_data", "results"}
    loaded = load_predictions(document, predictions.video_ids, predictions.class_names)
    order = np.argsort(predictions.video, kind="stable")  # written grouped by video
    for column in ("video", "start", "end", "label", "score"):
        np.testing.assert_array_equal(getattr(loaded, column), getattr(predictions, column)[order])


def test_write_predictions_needs_scores(tmp_path):
    with pytest.raises(ValueError, match="predictions must have scores"):
        write_predictions(tmp_path / "p.json", Segments(["a"], ["x"], [0], [0.0], [1.0], [0]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(video=[0, 0]), "Segments columns must have one length"),
    (dict(video=[1]), "Segments.video must index a list of 1, row 0 is 1"),
    (dict(label=[-1]), "Segments.label must index a list of 1"),
    (dict(end=[-1.0]), "Segments must have end >= start, row 0"),
    (dict(start=[float("nan")]), "Segments.start must be finite"),
    (dict(score=[float("inf")]), "Segments.score must be finite"),
    (dict(video=[[0]]), "Segments.video must be 1-dimensional"),
])
def test_segments_validation(kwargs, match):
    columns = dict(video=[0], start=[0.0], end=[1.0], label=[0], score=[1.0])
    columns.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Segments(["a"], ["x"], **columns)


def test_segments_reject_float_indices():
    with pytest.raises(TypeError, match="Segments.video must hold integers"):
        Segments(["a"], ["x"], video=[0.0], start=[0.0], end=[1.0], label=[0])


def test_thumos14_ground_truth():
    test = load_ground_truth(THUMOS14_GT, subset="test")
    train = load_ground_truth(THUMOS14_GT, subset="train")
    assert (len(test.video_ids), len(test), len(test.class_names)) == (210, 3311, 20)
    assert (len(train.video_ids), len(train)) == (200, 3007)
    assert test.class_names == train.class_names
    first = test.of_video("video_test_0000896")
    np.testing.assert_array_equal(first.start[:2], [18.6, 29.1])
    assert {first.class_names[c] for c in first.label} == {"HighJump"}


def test_actionformer_and_opentad_files(tmp_path):
    # ActionFormer's annotation layout: subsets "Validation"/"Test", extra fields, and label ids beside names;
    # results with integer label ids into a class list.
    ground_truth = {"version": "thumos14", "database": {
        "video_test_1": {"subset": "Test", "duration": 30.0, "fps": 30.0, "annotations": [
            {"label": "Diving", "segment": [1.0, 2.5], "segment(frames)": [30, 75], "label_id": 1}]},
        "video_validation_1": {"subset": "Validation", "annotations": [{"label": "Archery", "segment": [0, 1]}]}}}
    path = tmp_path / "thumos14.json"
    path.write_text(json.dumps(ground_truth))
    truth = load_ground_truth(path, subset="test", class_names=["Archery", "Diving"])
    assert truth.video_ids == ["video_test_1"] and truth.label.tolist() == [1]
    by_id = load_ground_truth({"database": {"v": {"subset": "test", "annotations": [
        {"label": 1, "segment": [0, 1]}]}}}, class_names=["Archery", "Diving"])
    assert by_id.label.tolist() == [1]
    with pytest.raises(ValueError, match="integer label ids need the class list"):
        load_ground_truth({"database": {"v": {"subset": "test", "annotations": [{"label": 1, "segment": [0, 1]}]}}})
    predictions = load_predictions({"results": {"video_test_1": [{"label": 1, "segment": [1.0, 2.0], "score": 0.5},
                                                                 {"label": "Archery", "segment": [0, 1], "score": 1}]}},
                                   truth.video_ids, ["Archery", "Diving"])
    assert predictions.label.tolist() == [1, 0]
    with pytest.raises(ValueError, match="prediction 0: unknown label 2"):
        load_predictions({"results": {"v": [{"label": 2, "segment": [0, 1], "score": 1}]}}, ["v"], ["A", "B"])
    with pytest.raises(ValueError, match="prediction 0: field 'label' must be a class name or an integer id"):
        load_predictions({"results": {"v": [{"label": True, "segment": [0, 1], "score": 1}]}}, ["v"], ["A", "B"])


def test_files_python_json_reads_but_strict_json_does_not(tmp_path):
    # Python's json writes NaN as a bare NaN, which is not JSON: the row is still named.
    path = tmp_path / "pred.json"
    path.write_text(json.dumps({"results": {"v": [{"label": "A", "segment": [0, 1], "score": float("nan")}]}}))
    with pytest.raises(ValueError, match="video 'v', prediction 0: score must be finite"):
        load_predictions(path, ["v"], ["A"])
