"""ptal's kernel layer: compiled C++/CUDA modules, Triton kernels, reference implementations and
backend selection. It knows tensors, not models, and never imports ``ptal``."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

import torch

from ptal_core.backends import (BACKENDS, BackendUnavailable, Backends, compiled_module, triton_available,
                                triton_interpreted, why_unavailable)

try:
    __version__ = _version("ptal")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["BACKENDS", "BackendUnavailable", "Backends", "info"]


def info() -> dict:
    """What was built and what can run here: a dict, as printed by ``ptal info``."""
    cpu, cuda = compiled_module("_cpu"), compiled_module("_cuda")
    gpu = torch.cuda.is_available()
    triton_version = None
    if triton_available():
        import triton

        triton_version = triton.__version__
    return {
        "ptal": __version__,
        "torch": torch.__version__,
        "cpu_module": {"built": cpu is not None, "openmp": bool(cpu and cpu.openmp),
                       "threads": cpu.num_threads() if cpu else 0,
                       "missing_because": None if cpu else why_unavailable("cpu", torch.device("cpu"))},
        "cuda_module": {"built": cuda is not None,
                        "architectures": cuda.architectures.split(",") if cuda else [],
                        "usable": cuda is not None and gpu},
        "triton": {"installed": triton_version is not None, "version": triton_version,
                   "usable": triton_version is not None and (gpu or triton_interpreted()),
                   "interpreter": triton_interpreted()},
        "gpu": torch.cuda.get_device_name() if gpu else None,
        "torch_cuda": torch.version.cuda,
    }
