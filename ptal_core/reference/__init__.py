"""Reference implementations: plain PyTorch, written to read like the specification."""
from ptal_core.reference import oic_scores, optimal_sequence_search, segment_iou, soft_nms, temporal_nms  # noqa: F401  (registers them)
