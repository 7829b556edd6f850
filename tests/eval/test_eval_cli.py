import json

import numpy as np
import pytest

from ptal.cli import main
from ptal.data.datasets import dataset_spec
from tests.eval import activitynet_reference
from tests.eval.test_detection_map import gt_doc, pred_doc
from tests.eval.workloads import THUMOS14_GT, synthetic_predictions


@pytest.fixture
def files(tmp_path):
    """gt.json with subsets "validation" (videos train1, train2) and "Test" (test1, test2), and three
    predictions files: test.json (the test videos, perfect), both.json (a video of each subset),
    outside.json (a video the ground truth lacks)."""
    ground_truth = gt_doc({"train1": [(0, 10, "x")], "train2": [(0, 10, "y")]}, subset="validation")
    ground_truth["database"].update(gt_doc({"test1": [(0, 10, "x")], "test2": [(20, 30, "y")]},
                                           subset="Test")["database"])
    documents = {
        "gt": ground_truth,
        "test": pred_doc({"test1": [(0, 10, "x", .9)], "test2": [(20, 30, "y", .8)]}),
        "both": pred_doc({"test1": [(0, 10, "x", .9)], "train1": [(0, 10, "x", .8)]}),
        "outside": pred_doc({"elsewhere": [(0, 10, "x", .9)]}),
    }
    for name, document in documents.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
    return tmp_path


def evaluate(files, predictions: str, *options: str) -> int:
    return main(["eval", "--gt", str(files / "gt.json"), "--pred", str(files / f"{predictions}.json"),
                 "--thresholds", "0.5", *options])


def test_prints_and_writes(tmp_path, capsys):
    (tmp_path / "gt.json").write_text(json.dumps(gt_doc({"a": [(0, 10, "x")], "b": [(0, 10, "x")]})))
    (tmp_path / "pred.json").write_text(json.dumps(pred_doc({"a": [(0, 10, "x", .5)]})))
    out = tmp_path / "result.json"
    assert main(["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "pred.json"),
                 "--thresholds", "0.3", "0.5", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("tIoU") and "mAP   50.00  50.00" in printed.out  # one subset: nothing to say
    assert printed.err == ""
    written = json.loads(out.read_text())
    assert written["map"] == [0.5, 0.5] and written["subset"] == "test"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_without_subset_evaluates_the_predicted_subset_and_says_so(files, capsys):
    assert evaluate(files, "test", "--out", str(files / "result.json")) == 0
    note, *table = capsys.readouterr().out.splitlines()
    assert note == ("ground truth has subsets validation (2 videos), Test (2): evaluating Test, the subset of the 2 "
                    "predicted videos; --subset to choose")
    assert "mAP  100.00" in table
    assert json.loads((files / "result.json").read_text())["subset"] == "Test"


@pytest.mark.parametrize("subset", ["test", "TEST"])
def test_subset_ignores_case(files, capsys, subset):
    assert evaluate(files, "test", "--subset", subset) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("tIoU") and "mAP  100.00" in printed


def test_subset_of_every_prediction_scores_the_others_as_false_positives(files, capsys):
    assert evaluate(files, "both", "--subset", "validation") == 0
    printed = capsys.readouterr()
    # The command line prints a warning as one line.
    assert printed.err == (f"ptal eval: warning: {files / 'both.json'}: 1 prediction(s) on 1 video(s) outside "
                           f"video_ids; they count as false positives\n")
    # x: test1's prediction (0.9) is false, train1's (0.8) true: AP 1/2; y (train2) missed: AP 0.
    assert "mAP   25.00" in printed.out


def test_predictions_of_several_subsets_need_subset(files, capsys):
    assert evaluate(files, "both") == 2
    error = capsys.readouterr().err
    assert error.startswith(f"ptal eval: error: {files / 'gt.json'}: the predicted videos lie in several subsets, "
                            f"validation (1 of 2 videos predicted), Test (1 of 2): name the one to evaluate "
                            f"(ptal eval --subset NAME)")
    assert error.count("\n") == 1


def test_predictions_outside_the_ground_truth_need_subset(files, capsys):
    assert evaluate(files, "outside") == 2
    assert "no predicted video is a ground-truth video" in capsys.readouterr().err


def test_unknown_subset_lists_the_subsets(files, capsys):
    assert evaluate(files, "test", "--subset", "tset") == 2
    assert (f"ptal eval: error: {files / 'gt.json'}: no subset 'tset'; the subsets are validation (2 videos), "
            f"Test (2) (case is ignored)") in capsys.readouterr().err


def test_bad_input_is_one_line_with_status_2(tmp_path, capsys):
    (tmp_path / "gt.json").write_text(json.dumps(gt_doc({"a": [(0, 10, "x")]})))
    (tmp_path / "pred.json").write_text('{"results": {"a": [{"segment": [3, 1], "label": "x", "score": 1}]}}')
    assert main(["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "pred.json")]) == 2
    error = capsys.readouterr().err
    assert "pred.json: video 'a', prediction 0: segment end < start" in error and error.count("\n") == 1
    assert main(["eval", "--gt", str(tmp_path / "gt.json"), "--pred", str(tmp_path / "missing.json")]) == 2
    assert f"{tmp_path / 'missing.json'}: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["eval"], "give either --gt and --pred, or --checkpoint"),
    (["eval", "--gt", "gt.json"], "give either --gt and --pred, or --checkpoint"),
    (["eval", "--gt", "g", "--pred", "p", "--checkpoint", "c"], "give either --gt and --pred, or --checkpoint"),
    (["eval", "--checkpoint", "c.pt", "--subset", "test"], "--subset, --ties and --dataset apply to --gt/--pred"),
    (["eval", "--checkpoint", "c.pt", "--ties", "official"], "--subset, --ties and --dataset apply to --gt/--pred"),
    (["eval", "--checkpoint", "c.pt", "--dataset", "gtea"], "--subset, --ties and --dataset apply to --gt/--pred"),
])
def test_needs_gt_and_pred_or_a_checkpoint(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_thumos14_test_predictions_are_scored_on_the_test_videos(tmp_path, capsys):
    ground_truth = json.loads(THUMOS14_GT.read_text())
    (tmp_path / "pred.json").write_text(json.dumps(synthetic_predictions(ground_truth, "test", per_video=20)))
    argv = ["eval", "--gt", str(THUMOS14_GT), "--pred", str(tmp_path / "pred.json")]
    assert main(argv) == 0
    note, *automatic = capsys.readouterr().out.splitlines()
    assert note == ("ground truth has subsets test (210 videos), train (200): evaluating test, the subset of the 210 "
                    "predicted videos; --subset to choose")
    assert main([*argv, "--subset", "Test"]) == 0
    assert capsys.readouterr().out.splitlines() == automatic


@pytest.mark.parametrize("name", ["gtea", "beoid"])
def test_eval_of_sfnets_ground_truth_equals_the_official_evaluation(tmp_path, name):
    """``ptal eval --dataset`` on SF-Net's GTEA/BEOID ground truth: the dataset's thresholds, the official numbers."""
    gt_path = dataset_spec(name).packaged / "gt.json"
    ground_truth = json.loads(gt_path.read_text())
    predictions = synthetic_predictions(ground_truth, "validation", per_video=80, seed=5)
    (tmp_path / "pred.json").write_text(json.dumps(predictions))
    assert main(["eval", "--gt", str(gt_path), "--pred", str(tmp_path / "pred.json"), "--dataset", name,
                 "--out", str(tmp_path / "result.json")]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    thresholds = dataset_spec(name).tiou_thresholds
    _, _, official = activitynet_reference.evaluate(ground_truth, predictions, thresholds, subset="validation")
    assert result["subset"] == "validation" and result["tiou_thresholds"] == pytest.approx(list(thresholds))
    np.testing.assert_allclose(result["map"], official, rtol=0, atol=1e-12)
