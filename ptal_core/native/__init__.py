"""Glue from tensors to the compiled kernels (ptal_core._cpu, ptal_core._cuda): allocation, grouping,
addresses and streams. Importing this package registers the ``cpu`` and ``cuda`` backends."""
from ptal_core.native import (segment_iou, select_seeds, soft_nms, temporal_nms,  # noqa: F401  (registers them)
                              threshold_proposals)
