"""The CUDA kernels under ThreadSanitizer (no race; a removed barrier is reported) and under AddressSanitizer with
UndefinedBehaviorSanitizer (no error; a write past a buffer is reported), each on tests/cuda_on_cpu/workload.py's
inputs in a Python process of its own."""
import re

import pytest

from tests.cuda_on_cpu.harness import PLANTED_SOURCE, build, planted_barrier, run_sanitized
from tests.cuda_on_cpu.workload import CHECKS

pytestmark = pytest.mark.cuda_on_cpu


@pytest.fixture(scope="module")
def modules():
    return build("thread", "planted", "address")


def test_no_race_in_the_kernels(modules):
    run = run_sanitized("thread", modules["thread"])
    assert run.reports == [] and run.code == 0, run.stderr[-6000:]
    assert run.stdout.count("matches the reference") == len(CHECKS)


def test_a_removed_barrier_is_a_reported_race(modules):
    """The barrier after the NMS mask kernel's loads into shared memory, removed (planted_barrier()): the loads
    race with the other threads' reads of them."""
    run = run_sanitized("planted", modules["planted"], "temporal_nms")
    races = set(re.findall(rf"SUMMARY: ThreadSanitizer: data race \S*/{PLANTED_SOURCE}:\d+ in (\w+)", run.stderr))
    assert run.code != 0 and run.reports and races == {"nms_mask_kernel"}, (planted_barrier(), run.stderr[-6000:])


def test_no_memory_error_or_undefined_behaviour_in_the_kernels(modules):
    run = run_sanitized("address", modules["address"])
    assert run.reports == [] and run.code == 0, run.stderr[-6000:]
    assert run.stdout.count("matches the reference") == len(CHECKS)


def test_a_write_past_a_buffer_is_reported(modules):
    run = run_sanitized("address", modules["address"], "write_past_a_buffer")
    assert run.code != 0 and any("heap-buffer-overflow" in report for report in run.reports), run.stderr[-6000:]
    assert "nms_sweep_kernel" in run.stderr
