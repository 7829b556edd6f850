"""Reference implementations: plain PyTorch, written to read like the specification."""
from ptal_core.reference import (constrained_kmedoids, generate_proposals, oic_scores,  # noqa: F401
                                 optimal_sequence_search, sample_proposal_features, segment_iou, select_seeds,
                                 soft_nms, temporal_nms, threshold_proposals)  # (importing registers them)
