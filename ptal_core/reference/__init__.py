"""Reference implementations: plain PyTorch, written to read like the specification."""
from ptal_core.reference import (oic_scores, optimal_sequence_search, segment_iou, select_seeds,  # noqa: F401
                                 soft_nms, temporal_nms, threshold_proposals)  # (importing registers them)
