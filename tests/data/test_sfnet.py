"""SF-Net's (W-TALC's) layout: object arrays read as data only, the features and annotation arrays of a
folder written by another script, and their errors."""
import io
import pickle

import numpy as np
import pytest

from ptal.data import SfnetFeatures, load_annotations
from ptal.data.datasets import GTEA, THUMOS14
from ptal.data.sfnet import read_npy


def object_array(items):
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


def write_sfnet_folder(root, name, videos, features=None, subsets=None, classes=None):
    """What SF-Net's release (or anyone's script) leaves: ``videos`` = [(video, subset, [(start, end, label)],
    duration)]; ``features`` (T, D) arrays in video order."""
    folder = root / f"{name}-Annotations"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "videoname.npy", np.array([v for v, _, _, _ in videos], dtype="S"))
    np.save(folder / "subset.npy", np.array([s for _, s, _, _ in videos], dtype="S"))
    np.save(folder / "segments.npy", object_array([[[s, e] for s, e, _ in rows] for _, _, rows, _ in videos]),
            allow_pickle=True)
    labels = object_array([[label for _, _, label in rows] for _, _, rows, _ in videos])
    np.save(folder / "labels.npy", labels, allow_pickle=True)
    np.save(folder / "labels_all.npy", labels, allow_pickle=True)
    np.save(folder / "duration.npy", np.array([d for *_, d in videos]))
    np.save(folder / "classlist.npy", np.array(classes or sorted({l for _, _, r, _ in videos for *_, l in r}), dtype="S"))
    if features is not None:
        np.save(root / f"{name}-I3D-JOINTFeatures.npy", object_array(features), allow_pickle=True)
    return folder


def test_object_arrays_of_every_pickle_protocol(tmp_path):
    arrays = object_array([np.arange(6.0).reshape(3, 2), np.ones((2, 2), np.float32)])
    np.save(tmp_path / "numpy.npy", arrays, allow_pickle=True)
    for protocol in (2, 3, 5):  # 2: Python 2's era (W-TALC), bytes pickled through _codecs.encode
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (2,)})
        (tmp_path / f"p{protocol}.npy").write_bytes(header.getvalue() + pickle.dumps(arrays, protocol=protocol))
    for name in ("numpy", "p2", "p3", "p5"):
        read = read_npy(tmp_path / f"{name}.npy")
        assert read.dtype == object and len(read) == 2, name
        np.testing.assert_array_equal(read[0], arrays[0])
        assert read[1].dtype == np.float32


def test_an_object_array_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            import os
            return os.system, ("echo never",)

    np.save(tmp_path / "evil.npy", object_array([Payload()]), allow_pickle=True)
    with pytest.raises(ValueError, match=r"evil.npy: unreadable object array \(it refers to (posix|os|nt)\.system"):
        read_npy(tmp_path / "evil.npy")


def test_numeric_and_broken_files(tmp_path):
    np.save(tmp_path / "plain.npy", np.arange(4.0))
    assert read_npy(tmp_path / "plain.npy").tolist() == [0, 1, 2, 3]
    (tmp_path / "text.npy").write_text("videoname\n")
    with pytest.raises(ValueError, match=r"text.npy: not a NumPy .npy file"):
        read_npy(tmp_path / "text.npy")
    np.save(tmp_path / "cut.npy", object_array([np.ones((3, 2))]), allow_pickle=True)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:-30])
    with pytest.raises(ValueError, match=r"cut.npy: unreadable object array"):
        read_npy(tmp_path / "cut.npy")
    with pytest.raises(FileNotFoundError, match="absent.npy does not exist"):
        read_npy(tmp_path / "absent.npy")


GTEA_VIDEOS = [("S1_a", "training", [(0.5, 2.0, "take"), (2.0, 3.2, "open")], 9.6),
               ("S1_b", "training", [(1.0, 4.0, "pour")], 8.0),
               ("S2_a", "validation", [(0.0, 1.1, "take")], 5.4)]


def test_features_of_the_layout(tmp_path):
    features = [np.full((9, 4), i, np.float32) for i in range(3)]
    write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS, features)
    source = SfnetFeatures(tmp_path, "GTEA")
    assert source.length("S1_b") == 9 and source.dim == 4
    np.testing.assert_array_equal(source.load("S2_a", 2, 4), np.full((2, 4), 2.0))
    with pytest.raises(FileNotFoundError, match=r"no features for video 'S9': it is not in .*videoname.npy"):
        source.load("S9")
    with pytest.raises(ValueError, match="features of size 4; expected 8"):
        SfnetFeatures(tmp_path, "GTEA", dim=8).length("S1_a")


def test_feature_errors_name_the_file_and_video(tmp_path):
    write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS, [np.zeros((9, 4)), np.zeros((9, 5)), np.zeros((9, 4))])
    with pytest.raises(ValueError, match=r"GTEA-I3D-JOINTFeatures.npy \(video 'S1_b'\): features of size 5; expected 4"):
        SfnetFeatures(tmp_path, "GTEA").length("S1_a")
    write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS, [np.zeros((9, 4))] * 2)
    with pytest.raises(ValueError, match=r"an array of shape \(2,\); expected one entry per video .* \(3\)"):
        SfnetFeatures(tmp_path, "GTEA").length("S1_a")
    bad = np.zeros((9, 4))
    bad[5, 1] = np.nan
    write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS, [bad, np.zeros((9, 4)), np.zeros((9, 4))])
    with pytest.raises(ValueError, match=r"\(video 'S1_a'\): non-finite value in row 5"):
        SfnetFeatures(tmp_path, "GTEA").load("S1_a")


def test_annotations_of_the_layout(tmp_path):
    folder = write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS)
    gtea = load_annotations(GTEA, folder)
    assert gtea.splits == {"training": ["S1_a", "S1_b"], "validation": ["S2_a"]}
    assert gtea.durations == {"S1_a": 9.6, "S1_b": 8.0, "S2_a": 5.4} and gtea.fps["S1_a"] == 15.0
    truth = gtea.ground_truth
    assert truth.video_ids == ["S1_a", "S1_b", "S2_a"] and truth.start.tolist() == [0.5, 2.0, 1.0, 0.0]
    assert [GTEA.class_names[c] for c in truth.label] == ["take", "open", "pour", "take"]
    assert len(gtea.points) == 3 and gtea.points.video_ids == ["S1_a", "S1_b"]  # uniform, training only


def test_annotation_errors_name_the_file_and_video(tmp_path):
    folder = write_sfnet_folder(tmp_path, "GTEA", [("v", "training", [(0.0, 1.0, "jump")], 3.0)])
    with pytest.raises(ValueError, match=r"labels.npy: video 'v': label 'jump' is not a class of GTEA"):
        load_annotations(GTEA, folder)
    folder = write_sfnet_folder(tmp_path, "GTEA", [("v", "training", [(2.0, 1.0, "take")], 3.0)])
    with pytest.raises(ValueError, match=r"segments.npy: video 'v': segment \[2.0, 1.0\] is not \[start, end\]"):
        load_annotations(GTEA, folder)
    np.save(folder / "duration.npy", np.array([3.0, 4.0]))
    with pytest.raises(ValueError, match=r"duration.npy: an array of shape \(2,\); expected one entry for each of the 1 videos"):
        load_annotations(GTEA, folder)


def test_thumos14_keeps_its_videos_with_instances_and_its_frame_rates(tmp_path):
    videos = [("video_validation_0000051", "validation",
               [(67.5, 75.9, "Billiards"), (85.9, 90.6, "Billiards"), (139.3, 148.2, "Billiards")], [200.0]),
              ("video_validation_0000001", "validation", [], [120.0]),  # a UCF101 class only: not THUMOS14's
              ("video_test_0000004", "test", [(0.2, 1.1, "CricketBowling")], [30.0])]
    folder = write_sfnet_folder(tmp_path, "Thumos14", videos, classes=list(THUMOS14.class_names))
    thumos = load_annotations(THUMOS14, folder)
    assert thumos.splits == {"train": ["video_validation_0000051"], "test": ["video_test_0000004"]}
    assert thumos.fps["video_validation_0000051"] == 30.0  # the packaged fps_dict.json
    # Its default points are the annotation folder's CSV; SF-Net's folders have none: the packaged LACP points.
    assert thumos.points.of_video("video_validation_0000051").frame.tolist() == [2151, 2647, 4311]
    # ... which must mark the instances of these annotations: a point in none is an error naming both
    write_sfnet_folder(tmp_path, "Thumos14", [videos[0][:2] + ([(67.5, 75.9, "Billiards")], [200.0]), videos[2]],
                       classes=list(THUMOS14.class_names))
    with pytest.raises(ValueError, match=r"thumos14/point_labels.csv \(ptal's, for THUMOS14's own annotations\): video "
                                         r"'video_validation_0000051': the Billiards point at frame 2647 \(88.23 s\) "
                                         r"lies in no Billiards instance of the ground truth of .*Thumos14-Annotations"):
        load_annotations(THUMOS14, folder)


def overwrite(folder, name, entries):
    """Replace ``name``.npy of an annotation folder by the object array of ``entries``."""
    np.save(folder / f"{name}.npy", object_array(entries), allow_pickle=True)


MALFORMED_ENTRIES = [  # (array, its entries for the three GTEA_VIDEOS, the error)
    ("segments", [None, [[1.0, 4.0]], [[0.0, 1.1]]], r"segments.npy: video 'S1_a': None is not a list of"),
    ("segments", [[[0.5, 2.0, 3.0], [2.0, 3.2]], [[1.0, 4.0]], [[0.0, 1.1]]],
     r"segments.npy: video 'S1_a': segment \[0.5, 2.0, 3.0\] is not \[start, end\]"),
    ("segments", [[[0.5, 2.0], [2.0, 3.2]], [["1", "4"]], [[0.0, 1.1]]], r"segments.npy: video 'S1_b': segment \['1'"),
    ("segments", [[[0.5, 2.0], [2.0, 3.2]], [[True, 4.0]], [[0.0, 1.1]]], r"video 'S1_b': segment \[True, 4.0\]"),
    ("segments", [[[0.5, 2.0], [2.0, 3.2]], [[0, 10 ** 400]], [[0.0, 1.1]]], r"video 'S1_b': segment \[0, 1000"),
    ("segments", [[[0.5, 2.0], [2.0, 3.2]], [[1.0, 4.0]], "ab"], r"video 'S2_a': 'ab' is not a list of \[start, end\]"),
    ("segments", [[[0.5, 2.0], [2.0, 3.2]], [[-3.0, 4.0]], [[0.0, 1.1]]],
     r"segments.npy: video 'S1_b' has the segment \[-3.0, 4.0\] s, outside \[0, 86400\] s"),
    ("segments", [[[0.5, 2.0], [2.0, 3.2]], [[1.0, 4.0]], [[0.0, 1e6]]], r"video 'S2_a' has the segment \[0.0, 1000000.0\]"),
    ("labels", [["take", ["open"]], ["pour"], ["take"]], r"labels.npy: video 'S1_a': label \['open'\] is not a class"),
    ("labels", [["take", b"\xff"], ["pour"], ["take"]], r"labels.npy: video 'S1_a': label b'\\xff' is not a class"),
    ("labels", [["take", "open"], None, ["take"]], r"labels.npy: video 'S1_b': None is not a list of class names"),
    ("duration", [9.6, [], 5.4], r"duration.npy: video 'S1_b' has duration \[\]; expected a number > 0"),
    ("duration", [9.6, 8.0, 1e308], r"duration.npy: video 'S2_a' has duration 1e\+308; expected at most 86400"),
    ("duration", [9.6, True, 5.4], r"duration.npy: video 'S1_b' has duration True; expected a number > 0"),
    ("videoname", ["S1_a", "S1_a", "S2_a"], r"videoname.npy: video ids listed more than once: \['S1_a'\]"),
    ("videoname", ["S1_a", "../S1_b", "S2_a"], r"videoname.npy: video id '../S1_b' is not a plain file name"),
    ("videoname", ["S1_a", b"S1_\xff", "S2_a"], r"videoname.npy: entry 1, b'S1_\\xff', is not UTF-8 text"),
    ("subset", ["training", 3, "validation"], r"subset.npy: entry 1, 3, is not a name"),
]


@pytest.mark.parametrize("name, entries, error", MALFORMED_ENTRIES)
def test_a_malformed_entry_is_named_with_its_file_and_video(tmp_path, name, entries, error):
    """Found by the malformed-input tests: each of these was a TypeError, an unnamed ValueError, an OverflowError
    or (duplicate ids, negative starts) a silently wrong table."""
    folder = write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS)
    overwrite(folder, name, entries)
    with pytest.raises(ValueError, match=error):
        load_annotations(GTEA, folder)


def test_labels_as_bytes_and_durations_as_one_element_rows_are_read(tmp_path):
    folder = write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS)
    overwrite(folder, "labels", [[b"take", b"open"], [b"pour"], [b"take"]])  # Python 2's pickles
    np.save(folder / "duration.npy", np.array([[9.6], [8.0], [5.4]]))
    gtea = load_annotations(GTEA, folder)
    assert [GTEA.class_names[c] for c in gtea.ground_truth.label] == ["take", "open", "pour", "take"]
    assert gtea.durations == {"S1_a": 9.6, "S1_b": 8.0, "S2_a": 5.4}


def test_a_0_d_array_and_a_damaged_file_are_named(tmp_path):
    folder = write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS)
    np.save(folder / "duration.npy", np.array(9.6))
    with pytest.raises(ValueError, match=r"duration.npy: an array of shape \(\); expected one entry for each of the 3"):
        load_annotations(GTEA, folder)
    np.save(folder / "duration.npy", np.array([9.6, 8.0, 5.4]))
    content = (folder / "duration.npy").read_bytes()
    (folder / "duration.npy").write_bytes(content[:-8])  # a numeric array cut short
    with pytest.raises(ValueError, match=r"duration.npy: unreadable .npy file, truncated or corrupt"):
        load_annotations(GTEA, folder)
    (folder / "duration.npy").write_bytes(content.replace(b"'shape': (3,), }", b"'shape': (3,), |"))
    with pytest.raises(ValueError, match=r"duration.npy: not a NumPy .npy file \((SyntaxError|TokenError)"):
        load_annotations(GTEA, folder)


def test_a_pickle_whose_numpy_call_fails_is_named(tmp_path):
    import codecs

    class BadCodec:
        def __reduce__(self):
            return codecs.encode, ("x", "no-such-codec")  # an allowed global, arguments that raise LookupError

    np.save(tmp_path / "labels.npy", object_array([BadCodec()]), allow_pickle=True)
    with pytest.raises(ValueError, match=r"labels.npy: unreadable object array \(_codecs.encode of str to 'no-such-codec'"):
        read_npy(tmp_path / "labels.npy")


def test_a_video_of_no_snippets_is_named(tmp_path):
    write_sfnet_folder(tmp_path, "GTEA", GTEA_VIDEOS, [np.zeros((9, 4)), np.zeros((0, 4)), np.zeros((9, 4))])
    with pytest.raises(ValueError, match=r"JOINTFeatures.npy \(video 'S1_b'\): features of shape \(0, 4\); expected "
                                         r"\(T, D\) with T >= 1"):
        SfnetFeatures(tmp_path, "GTEA").length("S1_a")
