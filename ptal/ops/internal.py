"""The ops without input validation, for callers that built their inputs valid themselves (ptal's models).

Same names, arguments and results as ``ptal.ops`` (torch tensors only); invalid input here is undefined
behaviour, so code that takes its inputs from users calls ``ptal.ops``, which validates them once.
``generate_proposals_padded`` has no public twin: ``generate_proposals`` before compaction, in shapes that
depend on no data (sync-free training on a GPU).
"""
from ptal.ops.constrained_kmedoids import constrained_kmedoids_unchecked as constrained_kmedoids  # noqa: F401
from ptal.ops.generate_proposals import generate_proposals_unchecked as generate_proposals  # noqa: F401
from ptal.ops.generate_proposals import (  # noqa: F401
    generate_proposals_padded_unchecked as generate_proposals_padded)
from ptal.ops.oic_scores import oic_scores_unchecked as oic_scores  # noqa: F401
from ptal.ops.optimal_sequence_search import optimal_sequence_search_unchecked as optimal_sequence_search  # noqa: F401
from ptal.ops.sample_proposal_features import (  # noqa: F401
    sample_proposal_features_unchecked as sample_proposal_features)
from ptal.ops.segment_iou import segment_iou_unchecked as segment_iou  # noqa: F401
from ptal.ops.select_seeds import select_seeds_unchecked as select_seeds  # noqa: F401
from ptal.ops.soft_nms import soft_nms_unchecked as soft_nms  # noqa: F401
from ptal.ops.temporal_nms import temporal_nms_unchecked as temporal_nms  # noqa: F401
from ptal.ops.threshold_proposals import threshold_proposals_unchecked as threshold_proposals  # noqa: F401
