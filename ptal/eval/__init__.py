"""Evaluation of temporal action localization: detection mAP as the official ActivityNet code computes it."""
from ptal.eval.detection import DetectionResult, average_names, detection_map

__all__ = ["DetectionResult", "average_names", "detection_map"]
