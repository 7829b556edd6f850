"""Where training reads the GPU on purpose.

A training step enqueues work and returns; the host waits for the device only at explicit points: log lines,
evaluation, checkpoints, and the sizes of data-dependent outputs made once per pseudo-label refresh. Those
points run inside :func:`explicit_sync`, so that a run under ``torch.cuda.set_sync_debug_mode("error")``
finds every other, hidden synchronisation (tests/models/test_sync_free.py; on a CPU, tests/sync_check.py
finds the ops that would synchronise on a GPU, and asks :func:`in_explicit_sync`).
"""
from __future__ import annotations

import contextlib
import threading

import torch

_state = threading.local()


def in_explicit_sync() -> bool:
    """Whether the calling thread is inside :func:`explicit_sync`."""
    return getattr(_state, "depth", 0) > 0


@contextlib.contextmanager
def explicit_sync():
    """Synchronisations inside the block are intended: the sync debug mode is off there, then restored."""
    _state.depth = getattr(_state, "depth", 0) + 1
    previous = torch.cuda.get_sync_debug_mode() if torch.cuda.is_available() else None
    if previous is not None:
        torch.cuda.set_sync_debug_mode(0)
    try:
        yield
    finally:
        if previous is not None:
            torch.cuda.set_sync_debug_mode(previous)
        _state.depth -= 1
