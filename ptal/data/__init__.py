"""Data: annotations (ground truth, point labels, splits), feature readers, the video dataset, and the
synthetic THUMOS14-structured benchmark that every command uses by default."""
from ptal.data.activitynet import Segments, load_ground_truth, load_predictions, write_predictions
from ptal.data.annotations import (FEATURE_FPS, SNIPPET_FRAMES, SNIPPET_SECONDS, THUMOS14_CLASSES, PointLabels,
                                   Thumos14, frame_to_snippet, load_point_labels, load_thumos14, read_fps,
                                   read_split, thumos14_files)
from ptal.data.batching import pad, valid_mask, window_offsets, windows
from ptal.data.dataset import VideoDataset, VideoItem
from ptal.data.features import FeatureSource, LacpFeatures, NpyFeatures, save_features
from ptal.data.synthetic import SyntheticThumos14, write_benchmark

__all__ = [
    "FEATURE_FPS", "SNIPPET_FRAMES", "SNIPPET_SECONDS", "THUMOS14_CLASSES",
    "FeatureSource", "LacpFeatures", "NpyFeatures", "PointLabels", "Segments", "SyntheticThumos14",
    "Thumos14", "VideoDataset", "VideoItem",
    "frame_to_snippet", "load_ground_truth", "load_point_labels", "load_predictions", "load_thumos14",
    "pad", "read_fps", "read_split", "save_features", "thumos14_files", "valid_mask", "window_offsets", "windows",
    "write_benchmark", "write_predictions",
]
