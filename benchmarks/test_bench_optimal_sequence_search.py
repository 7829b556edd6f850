"""LACP's optimal sequence search: the Python references (beam: the release's decoder; exact: the DP)
against the C++ beam and exact searches and the CUDA exact search, on one video·class at T = 300 / 750 /
1 500 (8 points) and on the THUMOS14 training set's shape in one batched call.

    pytest benchmarks/test_bench_optimal_sequence_search.py
"""
import pytest
import torch

from benchmarks.backends import device_for, synchronize, timed
from benchmarks.workloads import sequence_search_problem
from ptal.data.annotations import PACKAGED_THUMOS14
from ptal.ops import internal, optimal_sequence_search, select_seeds
from ptal_core.backends import why_unavailable
from tests.ops.sequences import thumos14_seed_batch


@pytest.mark.parametrize("length", [300, 750, 1500])
@pytest.mark.parametrize("backend, method", [("reference", "beam"), ("reference", "exact"), ("cpu", "beam"),
                                             ("cpu", "exact")])
def test_one_video_class(benchmark, backend, method, length):
    benchmark.group = f"optimal_sequence_search T={length}"
    problem = sequence_search_problem(length, num_points=8)
    _, score = timed(benchmark, backend,
                     lambda: optimal_sequence_search(*problem, method=method, backend=backend))
    benchmark.extra_info["sequence_score"] = float(score)


@pytest.fixture(scope="module")
def thumos14_train_seeds():
    """The THUMOS14 training set's shape in one batch: 200 videos, their real points (3 003), T = last point
    + 20 % (up to 1 725), C = 20; seeds from select_seeds on a smooth random CAS, as LACP's OSS gets them."""
    cas, points, lengths = thumos14_seed_batch(torch.Generator().manual_seed(0), PACKAGED_THUMOS14)
    act_seed, bkg_seed = select_seeds(cas, points, lengths)
    return cas, act_seed, bkg_seed, points.amax(1), lengths


@pytest.mark.parametrize("backend, method", [("reference", "beam"), ("reference", "exact"), ("cpu", "beam"),
                                             ("cpu", "exact"), ("cuda", "exact")])
def test_thumos14_train_set(benchmark, thumos14_train_seeds, backend, method):
    reason = why_unavailable(backend, device_for(backend))
    if reason:
        pytest.skip(reason)
    benchmark.group = "optimal_sequence_search thumos14-train-200"
    device = device_for(backend)
    inputs = [t.to(device) for t in thumos14_train_seeds]

    def run():
        out = optimal_sequence_search(*inputs, method=method, backend=backend)
        synchronize(device)
        return out

    pseudo_labels, score = timed(benchmark, backend, run)
    benchmark.extra_info.update(searched_pairs=int(pseudo_labels.amax(1).sum()), mean_score=float(score.mean()))


def test_thumos14_train_set_validation_cost(benchmark, thumos14_train_seeds):
    """The same call on the CPU through ptal.ops.internal, which does not validate: the difference to the
    public call (cpu, exact) is what validating the inputs costs."""
    benchmark.group = "optimal_sequence_search thumos14-train-200"
    benchmark(internal.optimal_sequence_search, *thumos14_train_seeds)
