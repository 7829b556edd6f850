"""Evaluation of temporal action localization: detection mAP as the official ActivityNet code computes it."""
from ptal.eval.detection import DetectionResult, detection_map

__all__ = ["DetectionResult", "detection_map"]
