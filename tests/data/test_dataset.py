import numpy as np
import pytest
import torch

from ptal.data import NpyFeatures, PointLabels, Segments, VideoDataset, pad, valid_mask, window_offsets, windows

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


def test_windows_are_the_offsets_ranges_or_the_whole_video():
    assert windows(10, 4, 3) == [(0, 4), (3, 7), (6, 10)]
    assert windows(3, 4, 3) == [(0, 3)]
    assert windows(10, 0, 3) == [(0, 10)]


def test_pad_zero_pads_and_counts_lengths(source):
    short, long = torch.ones(3, 2), torch.full((5, 2), 2.0)
    padded, lengths = pad([short, long])
    assert padded.shape == (2, 5, 2) and lengths.dtype == torch.int64 and lengths.tolist() == [3, 5]
    assert padded[0, :3].eq(1).all() and not padded[0, 3:].any() and padded[1].eq(2).all()
    assert valid_mask(lengths, 5).tolist() == [[True] * 3 + [False] * 2, [True] * 5]


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
                       np.array([c for _, c, _ in rows], dtype=np.int64), snippet * 16, snippet * 0.64, snippet,
                       snippet * 16, snippet * 16)


@pytest.fixture
def truth():
    # long: class a over [0.7, 2.0] s (snippets 1-3), class c over [5.0, 6.0] s (snippets 7-9).
    return Segments(["long", "short"], CLASSES, [0, 0], [0.7, 5.0], [2.0, 6.0], [0, 2])


def test_whole_videos(source, truth):
    points = points_table([("long", 0, 2), ("long", 1, 8), ("short", 1, 1)])
    dataset = VideoDataset(source, ["long", "short"], CLASSES, truth, points)
    assert len(dataset) == 2
    item = dataset[0]
    assert item.video_id == "long"
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


def test_point_outside_its_video_is_an_error(source):
    points = points_table([("short", 0, 1), ("short", 2, 3)])
    with pytest.raises(ValueError, match=r"video 'short': a point at snippet 3 is outside .* 3 snippets"):
        VideoDataset(source, ["short"], CLASSES, points=points)


def test_mismatched_class_lists(source, truth):
    with pytest.raises(ValueError, match="ground_truth.class_names differ"):
        VideoDataset(source, ["long"], ["a", "b"], truth)


