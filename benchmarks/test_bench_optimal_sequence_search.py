"""LACP's optimal sequence search, one video·class at T = 300 / 750 / 1 500 (8 points): the Python
references (beam: the release's decoder; exact: the DP) against the C++ beam and exact searches.

    pytest benchmarks/test_bench_optimal_sequence_search.py
"""
import pytest

from benchmarks.backends import timed
from benchmarks.workloads import sequence_search_problem
from ptal.ops import optimal_sequence_search


@pytest.mark.parametrize("length", [300, 750, 1500])
@pytest.mark.parametrize("backend, method", [("reference", "beam"), ("reference", "exact"), ("cpu", "beam"),
                                             ("cpu", "exact")])
def test_one_video_class(benchmark, backend, method, length):
    benchmark.group = f"optimal_sequence_search T={length}"
    problem = sequence_search_problem(length, num_points=8)
    _, score = timed(benchmark, backend,
                     lambda: optimal_sequence_search(*problem, method=method, backend=backend))
    benchmark.extra_info["sequence_score"] = float(score)
