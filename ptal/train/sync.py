"""Where training reads the GPU on purpose.

A training step enqueues work and returns; the host waits for the device only at explicit points: log lines,
evaluation, checkpoints, and the sizes of data-dependent outputs made once per pseudo-label refresh. Those
points run inside :func:`explicit_sync`, so that a run under ``torch.cuda.set_sync_debug_mode("error")``
finds every other, hidden synchronisation (tests/models/test_sync_free.py).
"""
from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def explicit_sync():
    """Synchronisations inside the block are intended: the sync debug mode is off there, then restored."""
    if not torch.cuda.is_available():
        yield
        return
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode(0)
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(previous)
