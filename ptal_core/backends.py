"""Backend tables and selection.

Every op lists its implementations literally, where the op is defined (``ptal/ops/<op>.py``), in a
:class:`Backends` table: ``reference`` (plain PyTorch, the specification), ``cpu`` (compiled C++),
``cuda`` (compiled CUDA) and ``triton`` (imported on first use, see :func:`lazy`).
:meth:`Backends.choose` picks one for the device of the inputs, honouring ``backend=`` and the
``PTAL_BACKEND`` environment variable. A backend that was asked for but cannot run raises
:class:`BackendUnavailable` saying how to get it; there is no silent fallback to a slower path.
"""
from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

BACKENDS = ("reference", "cpu", "cuda", "triton")
# Fast backends tried, in order, when nothing is asked for.
_AUTO_ORDER = {"cpu": ("cpu",), "cuda": ("cuda", "triton")}


class BackendUnavailable(RuntimeError):
    """The requested backend is not built, not installed, or cannot run on the inputs' device."""


@dataclass(frozen=True)
class Backends:
    """The implementations of one op (or of its backward), by backend; None where there is none."""

    op: str
    reference: Callable
    cpu: Callable | None = None
    cuda: Callable | None = None
    triton: Callable | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The backends this op has."""
        return tuple(name for name in BACKENDS if getattr(self, name) is not None)

    def choose(self, device: torch.device, backend: str | None = None) -> str:
        """The backend to run on tensors of ``device``.

        Order: ``backend``, else ``PTAL_BACKEND``, else the fastest backend that can run on the device
        (``cpu`` on CPU; ``cuda`` then ``triton`` on GPU); ``reference`` only when the op has no fast
        backend for the device at all. On the ``meta`` device (shapes only) any backend the op has will do.
        """
        return _choose(self, device, backend)

    def implementation(self, backend: str, device: torch.device) -> Callable:
        """The function of ``backend``, after checking that it can run on tensors of ``device``."""
        _check_name(backend)
        function = getattr(self, backend)
        if function is None:
            raise BackendUnavailable(f"{self.op} has no {backend!r} backend; it has {list(self.names)}")
        reason = why_unavailable(backend, device)
        if reason is not None:
            raise BackendUnavailable(f"{self.op}: backend {backend!r} is unavailable: {reason}")
        return function


def _choose(table: Backends, device: torch.device, backend: str | None) -> str:
    requested = backend if backend is not None else (os.environ.get("PTAL_BACKEND") or None)
    if requested is not None:
        _check_name(requested)
        if device.type != "meta":
            table.implementation(requested, device)
        return requested
    if device.type == "meta":
        return "reference"
    candidates = [name for name in _AUTO_ORDER.get(device.type, ()) if getattr(table, name) is not None]
    for name in candidates:
        if why_unavailable(name, device) is None:
            return name
    if candidates:
        reasons = "; ".join(f"{name}: {why_unavailable(name, device)}" for name in candidates)
        raise BackendUnavailable(
            f"{table.op}: no fast backend can run on {device} ({reasons}). "
            "Pass backend='reference' to use the slow reference implementation explicitly.")
    return "reference"


# A constant for torch.compile: the choice is made once, when the graph is built. This is what
# torch.compiler.assume_constant_result(_choose) does, without importing torch._dynamo (and Triton) with ptal.
_choose._dynamo_marked_constant = True


def _check_name(backend) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")


def lazy(module: str, name: str) -> Callable:
    """``module.name``, imported on its first call (Triton kernels: importing Triton takes seconds)."""

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = f"lazy({module}.{name})"
    return call


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


def source_tree_root(package_dirs: Iterable[str]) -> Path | None:
    """The repository root when ``ptal_core`` was imported from a source checkout alone: its only
    package directory sits beside ``pyproject.toml`` and ``CMakeLists.txt``. Python started in the
    repository root finds that directory before an installed ptal, and it holds no compiled module (an
    editable install lists the installed directory, which does, beside it). Else None."""
    directories = [Path(directory) for directory in package_dirs]
    if len(directories) != 1:
        return None
    root = directories[0].resolve().parent
    if (root / "pyproject.toml").is_file() and (root / "CMakeLists.txt").is_file():
        return root
    return None


def _missing_compiled_module(remedy: str) -> str:
    """Why a compiled module is missing: ptal_core imported from a source tree (the CPU module, always
    built, is missing too), or else ``remedy``."""
    root = source_tree_root(importlib.import_module("ptal_core").__path__)
    if root is None or compiled_module("_cpu") is not None:
        return remedy
    return (f"ptal_core was imported from the source tree at {root}, which has no compiled module: run Python "
            "outside the repository root, or install in editable mode (pip install -e .)")


def triton_interpreted() -> bool:
    """Triton kernels run on CPU tensors through the interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def why_unavailable(backend: str, device: torch.device) -> str | None:
    """None when ``backend`` can run on tensors of ``device``, else the reason and the remedy."""
    if backend == "reference":
        return None
    if backend == "cpu":
        if compiled_module("_cpu") is None:
            return _missing_compiled_module(
                "the compiled CPU module ptal_core._cpu is missing: reinstall ptal with `pip install .`")
        if device.type != "cpu":
            return f"it runs on CPU tensors, the inputs are on {device}"
        return None
    if backend == "cuda":
        if compiled_module("_cuda") is None:
            return _missing_compiled_module(
                "ptal was built without its CUDA module: reinstall with nvcc on PATH "
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
    _check_name(backend)

