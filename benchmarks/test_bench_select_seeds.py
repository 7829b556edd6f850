"""LACP seed selection over the THUMOS14 training set in one batched call: reference vs C++ CPU vs Triton.

    pytest benchmarks/test_bench_select_seeds.py
"""
import pytest
import torch

from benchmarks.backends import device_for, runnable, synchronize, timed
from ptal.data.annotations import PACKAGED_THUMOS14
from ptal.ops import select_seeds
from tests.ops.sequences import thumos14_seed_batch


@pytest.mark.parametrize("backend", runnable("select_seeds"))
def test_select_seeds_thumos14_train(benchmark, backend):
    # 200 videos with their real points (3 003), T = last point + 20 % (up to 1 725), C = 20.
    benchmark.group = "select_seeds thumos14-train-200"
    device = device_for(backend)
    cas, points, lengths = (t.to(device) for t in thumos14_seed_batch(torch.Generator().manual_seed(0),
                                                                      PACKAGED_THUMOS14))

    def run():
        seeds = select_seeds(cas, points, lengths, backend=backend)
        synchronize(device)
        return seeds

    act_seed, bkg_seed = timed(benchmark, backend, run)
    benchmark.extra_info.update(snippets=int(lengths.sum()), action_seeds=int(act_seed.sum()),
                                background_seeds=int(bkg_seed.sum()))
