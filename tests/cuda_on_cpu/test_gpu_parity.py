"""The GPU gives the CPU harness's results (tests/cuda_on_cpu/parity.py): integer results (NMS keeps, soft-NMS
order, pseudo labels, k-medoids instances) equal, floats equal up to the device's fused multiply-adds (1e-6
relative in float32, 1e-12 in float64; the largest difference is printed). On the CPU, the recorded results are
checked to be the harness's today, so a kernel change that forgets to re-record fails here."""
import pytest
import torch

from tests.cuda_on_cpu import parity
from tests.ops.backends import CUDA_ON_CPU

TOLERANCE = {torch.float32: dict(rtol=1e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def assert_results_equal(name: str, got: dict, recorded: dict, floats_exactly: bool) -> float:
    """Returns the largest absolute difference of the float results."""
    assert sorted(got) == sorted(recorded), name
    largest = 0.0
    for field, expected in recorded.items():
        value = got[field]
        assert value.dtype == expected.dtype and value.shape == expected.shape, f"{name}/{field}"
        if expected.is_floating_point() and not floats_exactly:
            torch.testing.assert_close(value, expected, **TOLERANCE[expected.dtype], msg=lambda m: f"{name}/{field}: {m}")
            largest = max([largest, *(value - expected).abs().flatten().tolist()])
        else:
            assert torch.equal(value, expected), f"{name}/{field}: differs from the harness's recorded result"
    return largest


@pytest.mark.cuda_on_cpu
def test_the_recorded_results_are_the_harness_s():
    recorded = parity.load()
    assert sorted(recorded) == sorted(parity.case_inputs())
    for name, (inputs, results) in recorded.items():
        assert_results_equal(name, parity.case_results(name, inputs, CUDA_ON_CPU), results, floats_exactly=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_the_gpu_gives_the_harness_s_results():
    for name, (inputs, results) in parity.load().items():
        largest = assert_results_equal(name, parity.case_results(name, inputs, "cuda"), results, floats_exactly=False)
        print(f"{name}: integer results equal, float results within {largest:.3g} of the harness's")
