"""Triton kernels. Registered lazily: Triton is imported only when a Triton backend is called."""
from ptal_core.backends import register_lazy

# op -> module of ptal_core.triton that defines a function of the op's name
_OPS = {"segment_iou": "segment_iou", "oic_scores": "oic_scores", "oic_scores_backward": "oic_scores",
        "select_seeds": "select_seeds", "threshold_proposals": "threshold_proposals",
        "sample_proposal_features": "sample_proposal_features",
        "sample_proposal_features_backward": "sample_proposal_features",
        "generate_proposals": "generate_proposals"}

for _op, _module in _OPS.items():
    register_lazy(_op, "triton", f"ptal_core.triton.{_module}")
