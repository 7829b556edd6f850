"""Backend registry and selection.

Every op registers up to four implementations: ``reference`` (plain PyTorch, the specification),
``cpu`` (compiled C++), ``cuda`` (compiled CUDA) and ``triton``. :func:`select` picks one for the
device of the inputs, honouring ``backend=`` and the ``PTAL_BACKEND`` environment variable. A backend
that was asked for but cannot run raises :class:`BackendUnavailable` saying how to get it; there is
no silent fallback to a slower path.
"""
from __future__ import annotations

import functools
import importlib
import os
from typing import Callable

import torch

BACKENDS = ("reference", "cpu", "cuda", "triton")
# Fast backends tried, in order, when nothing is asked for.
_AUTO_ORDER = {"cpu": ("cpu",), "cuda": ("cuda", "triton")}

_registry: dict[str, dict[str, Callable]] = {}


class BackendUnavailable(RuntimeError):
    """The requested backend is not built, not installed, or cannot run on the inputs' device."""


def register_lazy(op: str, backend: str, module: str) -> None:
    """Register ``module``'s function named ``op`` as a backend, importing the module on first call
    (so that registering Triton kernels does not import Triton)."""

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), op)(*args, **kwargs)

    register(op, backend)(call)


def register(op: str, backend: str) -> Callable[[Callable], Callable]:
    """Decorator: register ``fn`` as the ``backend`` implementation of ``op``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")

    def decorator(fn: Callable) -> Callable:
        _registry.setdefault(op, {})[backend] = fn
        return fn

    return decorator


def implementations(op: str) -> dict[str, Callable]:
    """The implementations registered for ``op``, by backend name."""
    _load_implementations()
    if op not in _registry:
        raise KeyError(f"no op named {op!r} is registered")
    return dict(_registry[op])


@functools.cache
def compiled_module(name: str):
    """``ptal_core._cpu`` or ``ptal_core._cuda``, or None when it was not built."""
    try:
        return importlib.import_module(f"ptal_core.{name}")
    except ImportError:
        return None


@functools.cache
def triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def triton_interpreted() -> bool:
    """Triton kernels run on CPU tensors through the interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def why_unavailable(backend: str, device: torch.device) -> str | None:
    """None when ``backend`` can run on tensors of ``device``, else the reason and the remedy."""
    if backend == "reference":
        return None
    if backend == "cpu":
        if compiled_module("_cpu") is None:
            return "the compiled CPU module ptal_core._cpu is missing: reinstall ptal with `pip install .`"
        if device.type != "cpu":
            return f"it runs on CPU tensors, the inputs are on {device}"
        return None
    if backend == "cuda":
        if compiled_module("_cuda") is None:
            return ("ptal was built without its CUDA module: reinstall with nvcc on PATH "
                    "(or PTAL_CUDA=ON to insist), e.g. `PTAL_CUDA=ON pip install --no-build-isolation .`")
        if device.type != "cuda":
            return f"it runs on CUDA tensors, the inputs are on {device}"
        if not torch.cuda.is_available():
            return "no CUDA GPU is available"
        return None
    if backend == "triton":
        if not triton_available():
            return "Triton is not installed: `pip install 'ptal[triton]'`"
        if device.type == "cuda" and not torch.cuda.is_available():
            return "no CUDA GPU is available"
        if device.type == "cuda" or (device.type == "cpu" and triton_interpreted()):
            return None
        return f"it runs on CUDA tensors (or CPU tensors with TRITON_INTERPRET=1), the inputs are on {device}"
    raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")


def select(op: str, device: torch.device, backend: str | None = None) -> tuple[str, Callable]:
    """Choose the implementation of ``op`` for inputs on ``device``.

    Order: the ``backend`` argument, else ``PTAL_BACKEND``, else the fastest registered backend for the
    device (``cpu`` on CPU; ``cuda`` then ``triton`` on GPU); ``reference`` only when the op has no fast
    backend for that device at all.
    """
    impls = implementations(op)
    requested = backend if backend is not None else (os.environ.get("PTAL_BACKEND") or None)
    if requested is not None:
        if requested not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS} or None, got {requested!r}")
        if requested not in impls:
            raise BackendUnavailable(f"{op} has no {requested!r} backend; it has {sorted(impls)}")
        reason = why_unavailable(requested, device)
        if reason is not None:
            raise BackendUnavailable(f"{op}: backend {requested!r} is unavailable: {reason}")
        return requested, impls[requested]
    candidates = [b for b in _AUTO_ORDER.get(device.type, ()) if b in impls]
    for name in candidates:
        if why_unavailable(name, device) is None:
            return name, impls[name]
    if candidates:
        reasons = "; ".join(f"{b}: {why_unavailable(b, device)}" for b in candidates)
        raise BackendUnavailable(
            f"{op}: no fast backend can run on {device} ({reasons}). "
            "Pass backend='reference' to use the slow reference implementation explicitly.")
    return "reference", impls["reference"]


@functools.cache
def _load_implementations() -> None:
    # Importing the implementation modules registers them.
    importlib.import_module("ptal_core.reference")
    importlib.import_module("ptal_core.native")
    importlib.import_module("ptal_core.triton")
