"""Reference implementations: plain PyTorch, written to read like the specification."""
from ptal_core.reference import (generate_proposals, oic_scores, optimal_sequence_search,  # noqa: F401
                                 sample_proposal_features, segment_iou, select_seeds, soft_nms, temporal_nms,
                                 threshold_proposals)  # (importing registers them)
