"""Every Triton kernel compiles for an sm_90 GPU with Triton's compiler, not only runs under its interpreter
(tests/triton_compile.py, in a subprocess without TRITON_INTERPRET)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.limits import HANG_GUARD_S
from tests.triton_compile import launched_kernels

pytest.importorskip("triton")
ROOT = Path(__file__).resolve().parent.parent


# Runs under the interpreter (Python ints become floats), but the compiler refuses a loop-carried variable
# whose type changes (int32, then float32).
ACCEPTED_ONLY_BY_THE_INTERPRETER = """import torch, triton, triton.language as tl
from tests.triton_compile import compile_only
@triton.jit
def _bad_kernel(out_ptr, n):
    total = 0
    for i in range(n):
        total += tl.load(out_ptr + i)
    tl.store(out_ptr, total)
"""


def in_subprocess(tmp_path, *args: str, interpret: bool = False) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "TRITON_INTERPRET"}
    env.update(TRITON_CACHE_DIR=str(tmp_path / "triton-cache"), PYTHONPATH=str(ROOT))
    if interpret:
        env["TRITON_INTERPRET"] = "1"
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)


def test_every_triton_kernel_compiles_for_sm90(tmp_path):
    result = in_subprocess(tmp_path, "-m", "tests.triton_compile")
    assert result.returncode == 0, result.stdout + result.stderr
    compiled = result.stdout.splitlines()[-1].removeprefix("compiled: ").split()
    assert len(launched_kernels()) >= 10 and set(compiled) == launched_kernels()
    assert len(list((tmp_path / "triton-cache").rglob("*.cubin"))) >= 2 * len(compiled)  # float32 and float64


def test_a_kernel_only_the_interpreter_accepts_fails_to_compile(tmp_path):
    interpreted, compiled = tmp_path / "interpreted.py", tmp_path / "compiled.py"
    interpreted.write_text(ACCEPTED_ONLY_BY_THE_INTERPRETER + "x = torch.ones(16)\n_bad_kernel[(1,)](x, 16)\n"
                           "assert x[0] == 16\n")
    compiled.write_text(ACCEPTED_ONLY_BY_THE_INTERPRETER + "compile_only({})\n_bad_kernel[(1,)](torch.ones(16), 16)\n")
    result = in_subprocess(tmp_path, str(interpreted), interpret=True)
    assert result.returncode == 0, result.stderr[-2000:]
    result = in_subprocess(tmp_path, str(compiled))
    assert result.returncode != 0 and "CompilationError" in result.stderr, result.stderr[-2000:]
