"""Point labels: frames to snippets per dataset, the protocols that draw points, the CSV written and read back,
SF-Net's annotators' single frames."""
from pathlib import Path

import numpy as np
import pytest

from ptal.cli import main
from ptal.data import Segments, dataset_spec, draw_points, frame_to_snippet, load_annotations, load_point_labels
from ptal.data.datasets import BEOID, GTEA, THUMOS14
from ptal.data.points import SingleFrame, instance_frames, read_single_frames, write_point_labels

CLASSES = GTEA.class_names


@pytest.mark.parametrize("dataset, frame, fps, snippet", [
    (GTEA, 15, 15.0, 0),     # 1.0 s: snippet 0 covers frames 0-15 of the video's own 15 fps
    (GTEA, 16, 15.0, 1),
    (GTEA, 47, 15.0, 2),     # SF-Net: int(t * fps / 16) with t = 47 / 15
    (BEOID, 31, 30.0, 1),
    (BEOID, 480, 30.0, 30),  # 16 s at 30 fps, 0.5333 s per snippet
    (THUMOS14, 2151, 30.0, 112),
])
def test_frame_to_snippet_per_dataset(dataset, frame, fps, snippet):
    assert int(frame_to_snippet(frame, fps, dataset)) == snippet


def test_snippet_of_a_time_follows_sfnet():
    # SF-Net places a single frame at t seconds in snippet int(t * fps / 16); ptal's frame floor(t * fps) lands
    # in the same snippet for every t.
    rng = np.random.default_rng(0)
    for dataset in (GTEA, BEOID):
        seconds = rng.uniform(0, 200, 1000)
        frames = np.floor(seconds * dataset.default_fps).astype(np.int64)
        expected = (seconds * dataset.default_fps / 16).astype(np.int64)
        assert frame_to_snippet(frames, dataset.default_fps, dataset).tolist() == expected.tolist()


def hand_made_truth():
    """Two videos at 15 fps: v1 has take [1.0, 2.0] s and open [2.0, 2.4] s, v2 has pour [0.0, 0.1] s."""
    return Segments(["v1", "v2"], list(CLASSES), [0, 0, 1], [1.0, 2.0, 0.0], [2.0, 2.4, 0.1],
                    [CLASSES.index("take"), CLASSES.index("open"), CLASSES.index("pour")])


FPS = {"v1": 15.0, "v2": 15.0}


def test_instance_frames_round_like_the_lacp_release():
    assert instance_frames(67.5, 75.9, 30.0) == (2025, 2277)  # the first row of LACP's THUMOS14 CSV
    assert instance_frames(5.1333333333, 7.2, 15.0) == (77, 108)
    assert instance_frames(1.0, 1.01, 15.0) == (15, 15)  # shorter than a frame: one frame


@pytest.mark.parametrize("protocol", ["uniform", "gaussian"])
def test_one_point_inside_each_instance_seeded(protocol):
    truth = hand_made_truth()
    drawn = draw_points(truth, ["v1", "v2"], FPS, GTEA, protocol, seed=3)
    points = drawn.points
    assert drawn.instances == 3 and len(points) == 3 and drawn.unmatched_frames == 0
    assert points.video_ids == ["v1", "v2"] and points.label.tolist() == truth.label.tolist()
    assert points.start_frame.tolist() == [15, 30, 0] and points.stop_frame.tolist() == [30, 36, 2]
    assert ((points.start_frame <= points.frame) & (points.frame <= points.stop_frame)).all()
    np.testing.assert_allclose(points.time, points.frame / 15.0)
    assert points.snippet.tolist() == (points.frame // 16).tolist()
    again = draw_points(truth, ["v1", "v2"], FPS, GTEA, protocol, seed=3).points
    assert again.frame.tolist() == points.frame.tolist()
    assert draw_points(truth, ["v2"], FPS, GTEA, protocol, seed=3).points.video_ids == ["v2"]


def test_uniform_reaches_every_frame_of_an_instance_alike():
    truth = Segments(["v"], list(CLASSES), [0], [2.0], [2.6], [0])  # frames 30 ... 39 at 15 fps
    frames = np.concatenate([draw_points(truth, ["v"], {"v": 15.0}, GTEA, "uniform", seed).points.frame
                             for seed in range(2000)])
    counts = np.bincount(frames - 30, minlength=10)
    assert frames.min() == 30 and frames.max() == 39
    assert counts.min() > 150 and counts.max() < 250  # 200 expected per frame


def test_gaussian_is_centred_with_its_sigma():
    truth = Segments(["v"], list(CLASSES), [0], [10.0], [20.0], [0])  # frames 150 ... 300, centre 225
    frames = np.concatenate([draw_points(truth, ["v"], {"v": 15.0}, GTEA, "gaussian", seed, sigma=4.0).points.frame
                             for seed in range(1000)])
    assert abs(frames.mean() - 225) < 0.5 and 3.6 < frames.std() < 4.4


def test_gaussian_on_thumos14_stays_as_near_the_centre_as_lacps_points():
    # LACP's released points lie -5 to +2.5 frames from their instance's centre; ptal's gaussian (sigma 1 frame)
    # draws for the same instances stay within a few frames too.
    thumos = load_annotations(THUMOS14)
    drawn = draw_points(thumos.ground_truth, thumos.splits["train"], thumos.fps, THUMOS14, "gaussian", 0).points
    offset = drawn.frame - (drawn.start_frame + drawn.stop_frame) / 2
    assert len(drawn) == 3007 and np.abs(offset).max() <= 6 and 0.8 < offset.std() < 1.3


ANNOTATORS = [
    (Path("A1.txt"), [SingleFrame("v1", 1.5, "take"), SingleFrame("v1", 1.6, "take"),   # twice in one instance: the first
            SingleFrame("v1", 2.2, "open"), SingleFrame("v2", 0.05, "take"),  # wrong class: left out
            SingleFrame("v9", 1.0, "take")]),                                   # unknown video: left out
    (Path("A2.txt"), [SingleFrame("v1", 1.2, "take"), SingleFrame("v2", 0.08, "pour")]),
]


def test_one_annotator_marks_the_instances_holding_its_frames():
    drawn = draw_points(hand_made_truth(), ["v1", "v2"], FPS, GTEA, "annotator", annotator=1,
                        single_frames=ANNOTATORS)
    points = drawn.points
    assert drawn.instances == 3 and drawn.unmatched_frames == 2
    assert points.video_ids == ["v1"] and points.frame.tolist() == [22, 33]  # floor(1.5 * 15), floor(2.2 * 15)
    assert [CLASSES[c] for c in points.label] == ["take", "open"]
    second = draw_points(hand_made_truth(), ["v1", "v2"], FPS, GTEA, "annotator", annotator=2,
                         single_frames=ANNOTATORS).points
    assert second.frame.tolist() == [18, 1] and second.video_ids == ["v1", "v2"]


def test_a_random_annotator_per_instance():
    chosen = set()
    for seed in range(40):
        points = draw_points(hand_made_truth(), ["v1", "v2"], FPS, GTEA, "random-annotator", seed,
                             single_frames=ANNOTATORS).points
        assert len(points) == 3  # every instance some annotator marked
        take = points.frame[0]
        assert take in (22, 18)  # one of the two annotators' frames in 'take'
        assert points.frame[1:].tolist() == [33, 1]  # marked by one annotator only
        chosen.add(int(take))
    assert chosen == {22, 18}


def test_protocol_errors():
    truth = hand_made_truth()
    with pytest.raises(ValueError, match="unknown point protocol 'middle'"):
        draw_points(truth, ["v1"], FPS, GTEA, "middle")
    with pytest.raises(ValueError, match="needs the annotators' single frames"):
        draw_points(truth, ["v1"], FPS, GTEA, "random-annotator")
    with pytest.raises(ValueError, match=r"annotator must be 1 to 2 \(the single-frame files A1.txt, A2.txt\), got 3"):
        draw_points(truth, ["v1"], FPS, GTEA, "annotator", annotator=3, single_frames=ANNOTATORS)


def test_written_points_read_back(tmp_path):
    points = draw_points(hand_made_truth(), ["v1", "v2"], FPS, GTEA, "uniform", seed=1).points
    write_point_labels(tmp_path / "points.csv", points)
    text = (tmp_path / "points.csv").read_text()
    assert text.splitlines()[0] == "class,class_index,start_frame,stop_frame,video_id,point"
    again = load_point_labels(tmp_path / "points.csv", FPS, GTEA)
    for column in ("video", "label", "frame", "snippet", "start_frame", "stop_frame"):
        assert getattr(again, column).tolist() == getattr(points, column).tolist(), column
    assert again.video_ids == points.video_ids


def test_lacps_csv_is_written_back_byte_for_byte(tmp_path):
    thumos = load_annotations(THUMOS14)
    write_point_labels(tmp_path / "points.csv", thumos.points)
    assert (tmp_path / "points.csv").read_bytes() == (THUMOS14.packaged / "point_labels.csv").read_bytes()


def test_single_frames_files(tmp_path):
    folder = tmp_path / "single_frames"
    folder.mkdir()
    (folder / "X2.txt").write_bytes(b"v1,1.5,take\r\n\r\nv2,0.25,pour\r\n")
    (folder / "X1.txt").write_text("v1,2.0,open\n")
    annotators = read_single_frames(folder)
    assert [path.name for path, _ in annotators] == ["X1.txt", "X2.txt"]
    assert annotators[1][1] == [SingleFrame("v1", 1.5, "take"), SingleFrame("v2", 0.25, "pour")]
    (folder / "X3.txt").write_text("v1,2.0,open\nv1;3.0;open\n")
    with pytest.raises(ValueError, match=r"X3.txt, line 2: expected video,seconds,class"):
        read_single_frames(folder)
    with pytest.raises(FileNotFoundError, match="no annotators' single frames"):
        read_single_frames(tmp_path / "absent")


@pytest.mark.parametrize("name, annotators, frames", [("gtea", 4, (369, 367, 377, 367)),
                                                      ("beoid", 4, (589, 602, 604, 599))])
def test_packaged_single_frames(name, annotators, frames):
    packaged = read_single_frames(dataset_spec(name).packaged / "single_frames")
    assert len(packaged) == annotators and tuple(len(f) for _, f in packaged) == frames


def test_the_points_command_writes_what_training_reads(tmp_path, capsys):
    out = tmp_path / "gtea_points.csv"
    assert main(["data", "points", "--dataset", "gtea", "--protocol", "annotator", "--annotator", "3",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "360 points of 367 instances of GTEA's training split" in said and "7 instances without a point" in said
    gtea = load_annotations(GTEA, points=str(out))
    assert len(gtea.points) == 360
    assert load_annotations(GTEA, points="annotator3").points.frame.tolist() == gtea.points.frame.tolist()
    assert main(["data", "points", "--dataset", "gtea", "--protocol", "uniform", "--annotator", "2",
                 "--out", str(out)]) == 2
