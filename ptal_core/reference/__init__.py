"""Reference implementations: plain PyTorch, written to read like the specification."""
from ptal_core.reference import (segment_iou, select_seeds, soft_nms, temporal_nms,  # noqa: F401  (registers them)
                                 threshold_proposals)
