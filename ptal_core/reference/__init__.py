"""Reference implementations: plain PyTorch, written to read like the specification."""
# Importing the modules registers their implementations.
from ptal_core.reference import (constrained_kmedoids, oic_scores, optimal_sequence_search,  # noqa: F401
                                 segment_iou, select_seeds, soft_nms, temporal_nms, threshold_proposals)
