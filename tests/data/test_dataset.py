import numpy as np
import pytest
import torch

from ptal.data import NpyFeatures, PointLabels, Segments, VideoDataset, collate, window_offsets

CLASSES = ["a", "b", "c"]


@pytest.mark.parametrize("length, window, stride, offsets", [
    (300, 256, 128, [0, 44]),
    (600, 256, 128, [0, 128, 256, 344]),
    (257, 256, 128, [0, 1]),
    (256, 256, 128, [0]),
    (100, 256, 128, [0]),
    (10, 4, 4, [0, 4, 6]),
])
def test_window_offsets_hand_computed(length, window, stride, offsets):
    assert window_offsets(length, window, stride) == offsets


def test_window_offsets_rejects_empty_windows():
    with pytest.raises(ValueError, match="window and stride must be >= 1"):
        window_offsets(10, 0, 4)


@pytest.fixture
def source(tmp_path):
    # Video "long": 10 snippets, feature row t = [t, -t]; "short": 3 snippets, rows [100 + t, 0].
    np.save(tmp_path / "long.npy", np.stack([np.arange(10.0), -np.arange(10.0)], axis=1))
    np.save(tmp_path / "short.npy", np.stack([100 + np.arange(3.0), np.zeros(3)], axis=1))
    return NpyFeatures(tmp_path, dim=2)


def points_table(rows):
    """rows: (video_id, class, snippet)."""
    video_ids = list(dict.fromkeys(v for v, _, _ in rows))
    snippet = np.array([s for _, _, s in rows], dtype=np.int64)
    return PointLabels(video_ids, CLASSES, np.array([video_ids.index(v) for v, _, _ in rows], dtype=np.int64),
                       np.array([c for _, c, _ in rows], dtype=np.int64), snippet * 16, snippet * 0.64, snippet)


@pytest.fixture
def truth():
    # long: class a over [0.7, 2.0] s (snippets 1-3), class c over [5.0, 6.0] s (snippets 7-9).
    return Segments(["long", "short"], CLASSES, [0, 0], [0.7, 5.0], [2.0, 6.0], [0, 2])


def test_whole_videos(source, truth):
    points = points_table([("long", 0, 2), ("long", 1, 8), ("short", 1, 1)])
    dataset = VideoDataset(source, ["long", "short"], CLASSES, truth, points)
    assert len(dataset) == 2
    item = dataset[0]
    assert item.video_id == "long" and item.offset == 0
    assert item.features.dtype == torch.float32 and item.features.shape == (10, 2)
    assert item.features[4].tolist() == [4.0, -4.0]
    expected_points = torch.zeros(10, 3)
    expected_points[2, 0] = expected_points[8, 1] = 1
    assert torch.equal(item.point_labels, expected_points)
    assert item.video_labels.tolist() == [1.0, 1.0, 1.0]  # a and c from the ground truth, b from its point
    assert item.segments.dtype == torch.float64 and item.segments.tolist() == [[0.7, 2.0], [5.0, 6.0]]
    assert item.segment_labels.tolist() == [0, 2]
    short = dataset[1]
    assert short.segments.shape == (0, 2) and short.video_labels.tolist() == [0.0, 1.0, 0.0]


def test_no_annotations(source):
    item = VideoDataset(source, ["short"], CLASSES)[0]
    assert item.point_labels.shape == (3, 3) and not item.point_labels.any()
    assert not item.video_labels.any() and item.segments.shape == (0, 2)


def test_windows_for_training_and_inference(source, truth):
    points = points_table([("long", 0, 2)])
    # long (10 snippets), window 4, stride 3: offsets 0, 3, 6; short (3): one window at 0.
    training = VideoDataset(source, ["long", "short"], CLASSES, truth, points, window=4, stride=3)
    assert [(item.video_id, item.offset) for item in training] == [("long", 0)]
    inference = VideoDataset(source, ["long", "short"], CLASSES, truth, points, window=4, stride=3,
                             keep_windows="all")
    assert [(item.video_id, item.offset, len(item.features)) for item in inference] == [
        ("long", 0, 4), ("long", 3, 4), ("long", 6, 4), ("short", 0, 3)]
    window = inference[2]  # snippets 6-9 = [3.84, 6.4) s
    assert window.features[:, 0].tolist() == [6.0, 7.0, 8.0, 9.0]
    assert not window.point_labels.any()
    assert window.segments.tolist() == [[5.0, 6.0]] and window.video_labels.tolist() == [0.0, 0.0, 1.0]
    middle = inference[1]  # snippets 3-6 = [1.92, 4.48) s: overlaps [0.7, 2.0] only
    assert middle.segments.tolist() == [[0.7, 2.0]]


def test_windows_shift_point_labels(source, truth):
    points = points_table([("long", 1, 7)])
    dataset = VideoDataset(source, ["long"], CLASSES, truth, points, window=4, stride=3)
    assert [item.offset for item in dataset] == [6]
    assert dataset[0].point_labels[:, 1].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_point_outside_its_video_is_an_error(source):
    points = points_table([("short", 0, 1), ("short", 2, 3)])
    with pytest.raises(ValueError, match=r"video 'short': a point at snippet 3 is outside .* 3 snippets"):
        VideoDataset(source, ["short"], CLASSES, points=points)


def test_mismatched_class_lists(source, truth):
    with pytest.raises(ValueError, match="ground_truth.class_names differ"):
        VideoDataset(source, ["long"], ["a", "b"], truth)


def test_collate_pads(source, truth):
    points = points_table([("long", 0, 2), ("short", 1, 1)])
    dataset = VideoDataset(source, ["short", "long"], CLASSES, truth, points)
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=collate)))
    assert batch.video_ids == ["short", "long"]
    assert batch.lengths.dtype == torch.int64 and batch.lengths.tolist() == [3, 10]
    assert batch.offsets.tolist() == [0, 0]
    assert batch.features.shape == (2, 10, 2) and batch.point_labels.shape == (2, 10, 3)
    assert batch.features[0, :3, 0].tolist() == [100.0, 101.0, 102.0]
    assert not batch.features[0, 3:].any() and not batch.point_labels[0, 3:].any()
    assert batch.point_labels[0, 1, 1] == 1 and batch.point_labels[1, 2, 0] == 1
    assert batch.video_labels.shape == (2, 3)
    assert [s.shape[0] for s in batch.segments] == [0, 2] and batch.segment_labels[1].tolist() == [0, 2]
