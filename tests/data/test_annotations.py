import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from ptal.data import (THUMOS14_CLASSES, frame_to_snippet, load_point_labels, load_thumos14, read_fps, read_split,
                       thumos14_files)
from ptal.data.annotations import PACKAGED_THUMOS14

# SHA-256 of the LACP release's files (commit 1ef066a, dataset/THUMOS14/; see PROVENANCE.md).
RELEASE_SHA256 = {
    "fps_dict.json": "b20a30d8a2610d66404e7d34526a604fe9847afd0eb44be8c4ff0605344043bb",
    "gt.json": "09ec867173d8532cd805769497633617f8a95519491c5558edd29a50731116a2",
    "point_labels.csv": "5f5e0a3b2419a14fc22659502689db2781ed6532d7c6836d5c6b9b6a8caa401f",
    "split_test.txt": "51bad9afadc6545a26833fd1f47b51d0458a05baee5c23ec8f3f8b8693e27f31",
    "split_train.txt": "5b11e290eb24c93c79f23cb1aecc8b85be4c13b47d7cf3b35e30601c1663f4c0",
}
HEADER = "class,class_index,start_frame,stop_frame,video_id,point\n"


@pytest.mark.parametrize("frame, fps, snippet", [
    (0, 30.0, 0),
    (15, 25.0, 0),        # 0.60 s, before the first boundary at 0.64 s
    (16, 25.0, 1),        # 0.64 s exactly: snippet 1
    (95, 30.0, 4),        # 3.1667 s / 0.64 = 4.95
    (96, 30.0, 5),        # 3.2 s / 0.64 = 5 exactly
    (2151, 30.0, 112),    # 71.7 s / 0.64 = 112.03 (first point of the packaged CSV)
    (2997, 30000 / 1001, 156),  # 99.9999 s / 0.64 = 156.2498
    (100, 24.0, 6),       # 4.1667 s / 0.64 = 6.51
])
def test_frame_to_snippet_hand_computed(frame, fps, snippet):
    assert int(frame_to_snippet(frame, fps)) == snippet


def test_frame_to_snippet_vectorised():
    result = frame_to_snippet(np.array([16, 96, 2151]), np.array([25.0, 30.0, 30.0]))
    assert result.dtype == np.int64 and result.tolist() == [1, 5, 112]


def test_class_list_matches_the_class_index_of_the_packaged_csv():
    with (PACKAGED_THUMOS14 / "point_labels.csv").open(newline="") as file:
        pairs = {(row["class"], int(row["class_index"])) for row in csv.DictReader(file)}
    assert len(THUMOS14_CLASSES) == 20
    assert sorted(pairs, key=lambda pair: pair[1]) == [(name, i) for i, name in enumerate(THUMOS14_CLASSES)]


def test_packaged_thumos14():
    thumos = load_thumos14()
    assert len(thumos.splits["train"]) == 200 and len(thumos.splits["test"]) == 210
    assert thumos.splits["train"][0] == "video_validation_0000051"
    assert len(thumos.ground_truth) == 3007 + 3311
    assert len(thumos.points) == 3003
    assert thumos.fps["video_validation_0000051"] == 30.0
    first = thumos.points.of_video("video_validation_0000051")
    # Rows of the CSV: Billiards points at frames 2151, 2647, 4311 of a 30 fps video.
    assert first.frame.tolist() == [2151, 2647, 4311]
    assert first.snippet.tolist() == [112, 137, 224]  # 71.7 s, 88.23 s, 143.7 s over 0.64 s
    assert np.allclose(first.time, [71.7, 88.2333333, 143.7])
    assert [thumos.class_names[c] for c in first.label] == ["Billiards"] * 3
    assert len(thumos.points.of_video("video_test_0000004")) == 0


def test_packaged_copies_are_the_release_files():
    for name, digest in RELEASE_SHA256.items():
        assert hashlib.sha256((PACKAGED_THUMOS14 / name).read_bytes()).hexdigest() == digest, name


def test_lacp_release_layout_of_the_point_labels(tmp_path):
    for role, path in thumos14_files().items():
        target = tmp_path / ("point_gaussian/point_labels.csv" if role == "points" else path.name)
        target.parent.mkdir(exist_ok=True)
        shutil.copy(path, target)
    assert thumos14_files(tmp_path)["points"] == tmp_path / "point_gaussian" / "point_labels.csv"
    assert len(load_thumos14(tmp_path).points) == 3003


def write_csv(tmp_path, rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "points.csv"
    path.write_text(header + rows)
    return path


FPS = {"v1": 25.0, "v2": 30.0}


def test_point_labels_hand_made(tmp_path):
    path = write_csv(tmp_path, "Diving,7,10,40,v1,32\nBilliards,2,0,5,v2,4\nDiving,7,50,90,v1,80\n")
    points = load_point_labels(path, FPS)
    assert points.video_ids == ["v1", "v2"]
    assert points.video.tolist() == [0, 1, 0]
    assert points.label.tolist() == [7, 2, 7]
    assert points.snippet.tolist() == [2, 0, 5]  # 32 / 16, 4 / 30 / 0.64, 80 / 16
    v1 = points.of_video("v1")
    assert v1.video_ids == ["v1"] and v1.frame.tolist() == [32, 80] and v1.video.tolist() == [0, 0]


@pytest.mark.parametrize("rows, header, message", [
    ("Diving,7,10,40,v1,32\nSkating,3,0,5,v2,4\n", HEADER, r"line 3: unknown class 'Skating'"),
    ("Diving,6,10,40,v1,32\n", HEADER, r"line 2: class_index 6 disagrees with class 'Diving'"),
    ("Diving,7,10,40,v1,3.5\n", HEADER, r"line 2: point is '3.5', not an integer"),
    ("Diving,7,10,40,v1\n", HEADER, r"line 2: expected 6 fields"),
    ("Diving,7,10,40,v1,32,9\n", HEADER, r"line 2: expected 6 fields"),
    ("Diving,7,10,40,v1,41\n", HEADER, r"line 2: point 41 of video 'v1' is outside its instance \[10, 40\]"),
    ("Diving,7,40,10,v1,20\n", HEADER, r"line 2: instance frames \[40, 10\] of video 'v1'"),
    ("Diving,7,10,40,v9,20\n", HEADER, r"line 2: video 'v9' has no frame rate"),
    ("Diving,7,10,40,v1\n", "class,class_index,start_frame,stop_frame,video_id\n", r"lacks the columns \['point'\]"),
])
def test_point_labels_bad_rows(tmp_path, rows, header, message):
    path = write_csv(tmp_path, rows, header)
    with pytest.raises(ValueError, match=message) as error:
        load_point_labels(path, FPS)
    assert str(path) in str(error.value)


def test_split_and_fps_errors(tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("a\nb\n\na\n")
    with pytest.raises(ValueError, match=r"split.txt: video ids listed more than once: \['a'\]"):
        read_split(split)
    split.write_text("a\n b \n\n")
    assert read_split(split) == ["a", "b"]
    fps = tmp_path / "fps.json"
    fps.write_text('{"a": 30, "b": 0}')
    with pytest.raises(ValueError, match=r"fps.json: video 'b' has frame rate 0"):
        read_fps(fps)


@pytest.mark.parametrize("text, message", [
    ('{"a": 30, ', r"fps.json: not valid JSON \(Expecting"),
    ("", r"fps.json: not valid JSON"),
    ('[["a", 30]]', r"fps.json: expected a JSON object video_id -> fps, got a list"),
    ('{"a": "30"}', r"fps.json: video 'a' has frame rate '30'; expected a number > 0"),
    ('{"a": true}', r"fps.json: video 'a' has frame rate True"),
    ('{"a": NaN}', r"fps.json: video 'a' has frame rate nan"),
])
def test_malformed_fps_files_are_named(tmp_path, text, message):
    path = tmp_path / "fps.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_fps(path)


def test_files_that_are_not_utf8_text_are_named(tmp_path):
    binary = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}\xff\xfe"
    for name, read in (("fps.json", read_fps), ("split.txt", read_split),
                       ("points.csv", lambda path: load_point_labels(path, FPS))):
        (tmp_path / name).write_bytes(binary)
        with pytest.raises(ValueError, match=rf"{name}: not UTF-8 text"):
            read(tmp_path / name)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = write_csv(tmp_path, "Diving,7,10,40,v1,32\n", header="\ufeff" + HEADER)
    assert load_point_labels(path, FPS).frame.tolist() == [32]
    fps = tmp_path / "fps.json"
    fps.write_text('\ufeff{"v1": 25}', encoding="utf-8")
    assert read_fps(fps) == {"v1": 25.0}


def test_unreadable_csv_is_named_with_its_line(tmp_path):
    path = write_csv(tmp_path, "Diving,7,10,40,v1,32\n" + "x" * 200_000 + "\n")
    with pytest.raises(ValueError, match=r"points.csv, line 3: not readable as CSV \(field larger than"):
        load_point_labels(path, FPS)


def copy_of_the_packaged_files(directory: Path) -> Path:
    for path in thumos14_files().values():
        shutil.copy(path, directory / path.name)
    return directory


@pytest.mark.parametrize("name, text, message", [
    ("fps_dict.json", "{", r"fps_dict.json: not valid JSON"),
    ("gt.json", '{"database": [1, 2]}', r"gt.json: field 'database' must be a dict"),
    ("gt.json", "not json", r"gt.json: not valid JSON"),
    ("point_labels.csv", "video,frame\nv,1\n", r"point_labels.csv: header \['video', 'frame'\] lacks the columns"),
])
def test_load_thumos14_names_the_malformed_file(tmp_path, name, text, message):
    directory = copy_of_the_packaged_files(tmp_path)
    (directory / name).write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        load_thumos14(directory)
    assert str(directory / name) in str(error.value)


def test_load_thumos14_names_a_missing_directory_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"directory {tmp_path / 'absent'} does not exist"):
        load_thumos14(tmp_path / "absent")
    directory = copy_of_the_packaged_files(tmp_path)
    (directory / "fps_dict.json").unlink()
    (directory / "point_labels.csv").unlink()
    with pytest.raises(FileNotFoundError, match=rf"directory {directory} lacks fps_dict.json, point_labels.csv "
                                                r"\(or point_gaussian/point_labels.csv\)"):
        load_thumos14(directory)
