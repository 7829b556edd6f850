"""Public kernels of ptal: validated, documented, dispatched to the fastest available backend.

Every op is a registered PyTorch op (``torch.ops.ptal.<name>``, with a fake implementation for
``torch.compile`` and meta tensors, and a backward where it is differentiable), takes NumPy or CuPy arrays
as well as tensors (and returns the same kind), and takes ``backend=None | "reference" | "cpu" | "cuda" |
"triton"``; ``PTAL_BACKEND`` overrides the automatic choice (``ptal_core.backends``). Each op lists its
backends in a table, ``BACKENDS``, in its own module. ``ptal.ops.internal`` holds the same ops without
input validation, for callers that built their inputs valid (ptal's models).
"""
from ptal.ops.constrained_kmedoids import KMedoidsResult, constrained_kmedoids
from ptal.ops.generate_proposals import generate_proposals
from ptal.ops.oic_scores import oic_scores
from ptal.ops.optimal_sequence_search import optimal_sequence_search
from ptal.ops.roi_align_1d import roi_align_1d
from ptal.ops.sample_proposal_features import sample_proposal_features
from ptal.ops.segment_iou import segment_iou
from ptal.ops.select_seeds import select_seeds
from ptal.ops.soft_nms import soft_nms
from ptal.ops.temporal_nms import temporal_nms
from ptal.ops.threshold_proposals import threshold_proposals

__all__ = ["KMedoidsResult", "constrained_kmedoids", "generate_proposals", "oic_scores", "optimal_sequence_search",
           "roi_align_1d", "sample_proposal_features", "segment_iou", "select_seeds", "soft_nms", "temporal_nms", "threshold_proposals"]
