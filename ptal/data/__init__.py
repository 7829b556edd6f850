"""Data: the benchmarks' descriptions (THUMOS14, GTEA, BEOID), their annotations (ground truth, splits,
point labels), feature readers, the video dataset, and the synthetic benchmarks that every command uses by
default."""
from ptal.data.activitynet import Segments, load_ground_truth, load_predictions, write_predictions
from ptal.data.annotations import (FEATURE_FPS, SNIPPET_FRAMES, SNIPPET_SECONDS, THUMOS14_CLASSES, Annotations,
                                   load_annotations, load_thumos14, read_fps, read_split, thumos14_files)
from ptal.data.batching import pad, valid_mask, window_offsets, windows
from ptal.data.dataset import VideoDataset, VideoItem
from ptal.data.datasets import DATASETS, DatasetSpec, dataset_spec
from ptal.data.features import FeatureSource, LacpFeatures, NpyFeatures, save_features
from ptal.data.points import PointLabels, draw_points, frame_to_snippet, load_point_labels, write_point_labels
from ptal.data.sfnet import SfnetFeatures
from ptal.data.synthetic import SyntheticBenchmark, write_benchmark

__all__ = [
    "DATASETS", "FEATURE_FPS", "SNIPPET_FRAMES", "SNIPPET_SECONDS", "THUMOS14_CLASSES",
    "Annotations", "DatasetSpec", "FeatureSource", "LacpFeatures", "NpyFeatures", "PointLabels", "Segments",
    "SfnetFeatures", "SyntheticBenchmark", "VideoDataset", "VideoItem",
    "dataset_spec", "draw_points", "frame_to_snippet", "load_annotations", "load_ground_truth", "load_point_labels",
    "load_predictions", "load_thumos14", "pad", "read_fps", "read_split", "save_features", "thumos14_files",
    "valid_mask", "window_offsets", "windows", "write_benchmark", "write_point_labels", "write_predictions",
]
