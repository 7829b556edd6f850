"""Triton kernels. Registered lazily: Triton is imported only when a Triton backend is called."""
from ptal_core.backends import register_lazy

for _op in ("segment_iou", "select_seeds", "threshold_proposals"):
    register_lazy(_op, "triton", f"ptal_core.triton.{_op}")
