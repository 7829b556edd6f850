"""Glue from tensors to the compiled kernels (ptal_core._cpu, ptal_core._cuda): allocation, grouping,
addresses and streams. Importing this package registers the ``cpu`` and ``cuda`` backends."""
from ptal_core.native import (constrained_kmedoids, generate_proposals, oic_scores,  # noqa: F401
                              optimal_sequence_search, sample_proposal_features, segment_iou, select_seeds,
                              soft_nms, temporal_nms, threshold_proposals)  # (importing registers them)
