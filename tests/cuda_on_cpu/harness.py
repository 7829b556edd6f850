"""The CPU harness of ptal's CUDA kernels (csrc/cuda_on_cpu/): its build, and the glue pointed at it.

:func:`build` compiles ``csrc/cuda/*.cu`` with the host compiler into ``build/cuda_on_cpu/`` (CMake option
``PTAL_CUDA_ON_CPU``), again whenever a source changed (CMake's own dependency tracking), one module
``ptal_core._cuda_on_cpu`` per flavour: ``plain``, ``thread`` (ThreadSanitizer), ``address``
(AddressSanitizer + UndefinedBehaviorSanitizer), ``planted`` (ThreadSanitizer with one barrier removed).
:func:`emulating` makes ptal's CUDA glue (``ptal_core/native/*_cuda``) run such a module on CPU tensors.
"""
from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import ptal_core.native
from ptal_core import backends
from ptal_core.native import common

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "cuda_on_cpu"
FLAVOURS = ("plain", "thread", "address", "planted")
# The planted race: the barrier between the NMS mask kernel's loads of its tile's columns into shared memory
# and their reads by every thread.
PLANTED_SOURCE, PLANTED_AFTER = "temporal_nms.cu", "cols[2 * threadIdx.x + 1] ="


def planted_barrier() -> str:
    """``file.cu:line`` of the first ``__syncthreads()`` after PLANTED_AFTER in PLANTED_SOURCE."""
    lines = (ROOT / "csrc" / "cuda" / PLANTED_SOURCE).read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if PLANTED_AFTER in line), len(lines))
    line = next((i for i in range(start, len(lines)) if "__syncthreads();" in lines[i]), None)
    if line is None:
        raise RuntimeError(f"no __syncthreads() after {PLANTED_AFTER!r} in csrc/cuda/{PLANTED_SOURCE}: update "
                           "PLANTED_AFTER in tests/cuda_on_cpu/harness.py")
    return f"{PLANTED_SOURCE}:{line + 1}"


def build(*flavours: str) -> dict[str, Path]:
    """Builds (or brings up to date) the flavours; returns the path of each one's module."""
    unknown = set(flavours) - set(FLAVOURS)
    if unknown:
        raise ValueError(f"flavours must be among {FLAVOURS}, got {sorted(unknown)}")
    _build([f"cuda_on_cpu_{flavour}" for flavour in flavours])
    paths = {}
    for flavour in flavours:
        found = sorted((BUILD / "cuda_on_cpu" / flavour).glob("_cuda_on_cpu*.so"))
        if len(found) != 1:
            raise RuntimeError(f"the CPU harness build left {len(found)} modules in {BUILD / 'cuda_on_cpu' / flavour}")
        paths[flavour] = found[0]
    return paths


def build_selftest() -> Path:
    """Builds (or brings up to date) the checks of the harness itself (tests/cuda_on_cpu/selftest.cpp)."""
    _build(["cuda_on_cpu_selftest"])
    return BUILD / "cuda_on_cpu" / "cuda_on_cpu_selftest"


def _build(targets: list[str]) -> None:
    import pybind11

    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:  # one build at a time (pytest-xdist workers)
        fcntl.flock(lock, fcntl.LOCK_EX)
        _run(["cmake", "-S", str(ROOT), "-B", str(BUILD), "-DPTAL_CUDA=OFF", "-DPTAL_CUDA_ON_CPU=ON",
              f"-DPTAL_CUDA_ON_CPU_DROP_BARRIER={planted_barrier()}", f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
              f"-DPython_EXECUTABLE={sys.executable}"])
        _run(["cmake", "--build", str(BUILD), "--parallel", str(os.cpu_count() or 1),
              *(arg for target in targets for arg in ("--target", target))])


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-6000:]}"
                           f"{done.stderr[-6000:]}")


def load(path: Path):
    """The harness module at ``path``, as ``ptal_core._cuda_on_cpu``."""
    spec = importlib.util.spec_from_file_location("ptal_core._cuda_on_cpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _null_stream(device):
    yield 0


@contextlib.contextmanager
def emulating(module):
    """Inside: ``backend="cuda"`` runs on CPU tensors, through the CUDA glue, with ``module`` as the CUDA module
    ``ptal_core._cuda`` and 0 (the null stream) as every stream. Only these three lookups change."""
    for info in pkgutil.iter_modules(ptal_core.native.__path__):
        importlib.import_module(f"ptal_core.native.{info.name}")
    glue = [m for name, m in sys.modules.items() if name.startswith("ptal_core.native")
            and getattr(m, "cuda_stream", None) is common.cuda_stream]
    why_unavailable = backends.why_unavailable
    with contextlib.ExitStack() as stack:
        real = sys.modules.get("ptal_core._cuda")
        sys.modules["ptal_core._cuda"] = module
        stack.callback(_restore_cuda_module, real)
        backends.compiled_module.cache_clear()
        stack.enter_context(mock.patch.object(
            backends, "why_unavailable", lambda backend, device: None if backend == "cuda" else why_unavailable(
                backend, device)))
        for m in glue:
            stack.enter_context(mock.patch.object(m, "cuda_stream", _null_stream))
        yield module


def _restore_cuda_module(real) -> None:
    if real is None:
        del sys.modules["ptal_core._cuda"]
    else:
        sys.modules["ptal_core._cuda"] = real
    backends.compiled_module.cache_clear()


# ---- sanitizers: a workload in a fresh Python process that loads the runtime first ----

def sanitizer_runtime(flavour: str) -> str:
    """The host compiler's shared sanitizer runtime for a flavour (LD_PRELOADed into Python)."""
    name = {"thread": "libtsan.so", "planted": "libtsan.so", "address": "libasan.so"}[flavour]
    compiler = os.environ.get("CXX", "c++")
    path = subprocess.run([compiler, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(path):
        raise RuntimeError(f"{compiler} has no {name}: the sanitizer flavours need GCC's or Clang's runtime")
    return path


REPORT = re.compile(r"^(?:==\d+==)?((?:WARNING: ThreadSanitizer|ERROR: AddressSanitizer): .*|.*: runtime error: .*)$",
                    re.M)


class Sanitized(NamedTuple):
    code: int  # the process's exit status
    reports: list[str]  # the first line of each sanitizer report
    stdout: str
    stderr: str


def run_sanitized(flavour: str, path: Path, *checks: str, timeout: float = 900) -> Sanitized:
    """Runs ``python -m tests.cuda_on_cpu.workload`` on the flavour's module, the sanitizer's runtime preloaded."""
    env = dict(os.environ, LD_PRELOAD=sanitizer_runtime(flavour), OMP_NUM_THREADS="1",
               TSAN_OPTIONS="halt_on_error=0 exitcode=66 report_signal_unsafe=0",
               ASAN_OPTIONS="detect_leaks=0 exitcode=67", UBSAN_OPTIONS="print_stacktrace=1")
    done = subprocess.run([sys.executable, "-m", "tests.cuda_on_cpu.workload", str(path), *checks],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return Sanitized(done.returncode, REPORT.findall(done.stderr), done.stdout, done.stderr)
