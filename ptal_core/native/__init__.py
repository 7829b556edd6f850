"""Glue from tensors to the compiled kernels (ptal_core._cpu, ptal_core._cuda): allocation, grouping,
addresses and streams."""
