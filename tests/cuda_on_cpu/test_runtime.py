"""The CPU harness itself: CUDA's indices, barriers and votes, shared memory, and the rules it reports, checked by
tests/cuda_on_cpu/selftest.cpp on kernels of its own."""
import subprocess

import pytest

from tests.cuda_on_cpu.harness import build_selftest

pytestmark = pytest.mark.cuda_on_cpu


def test_the_harness_checks_itself():
    done = subprocess.run([str(build_selftest())], capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 11 and all(line.startswith("ok ") for line in lines), done.stdout
