"""Triton kernels. Imported only when a Triton backend runs (ptal_core.backends.lazy)."""
