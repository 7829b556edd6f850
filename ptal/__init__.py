"""ptal: point-supervised temporal action localization (LACP, APN) on fast, exact, batched kernels."""
from ptal_core import __version__, info

__all__ = ["__version__", "info"]
