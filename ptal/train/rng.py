"""Seeding and capturing every random number generator a training run draws from: torch (CPU and
CUDA), NumPy's global generator and Python's ``random``. Captured states hold only tensors, numbers and
strings, so checkpoints keep loading with ``torch.load(..., weights_only=True)``."""
from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), NumPy's global generator and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def capture_rng_state() -> dict:
    """The state of every global generator, as tensors and numbers."""
    _, numpy_keys, numpy_position, numpy_has_gauss, numpy_cached_gaussian = np.random.get_state()
    python_version, python_internal, python_gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(numpy_keys.astype(np.int64)), "position": int(numpy_position),
                  "has_gauss": int(numpy_has_gauss), "cached_gaussian": float(numpy_cached_gaussian)},
        "python": {"version": python_version, "internal": torch.tensor(python_internal, dtype=torch.int64),
                   "gauss_next": python_gauss_next},
    }


def restore_rng_state(state: dict) -> None:
    """Put every global generator back in the state :func:`capture_rng_state` returned. CUDA states are
    restored for the devices present in both the state and this machine."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        for device, device_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state, device)
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["internal"].tolist()),
                     python_state["gauss_next"]))
