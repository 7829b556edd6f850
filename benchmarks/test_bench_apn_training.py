"""APN training and inference costs on the synthetic THUMOS14-structured benchmark at the paper's sizes
(D = 2048, E = 512, PEM d_model 256, N = 32, ≤ 1 000 proposals and ≤ 64 PEM proposals per window, 16
windows per iteration), and the batched L_CTR against the per-instance loops of paper eqs. 1–2 on the
same batch.

    pytest benchmarks/test_bench_apn_training.py -s
"""

import pytest
import torch

from benchmarks.backends import timed
from ptal.models.apn.losses import ctr_loss
from ptal.models.apn import ApnConfig, ApnMethod
from tests.models.test_apn_losses import ctr_loss_reference


@pytest.fixture(scope="module")
def method():
    torch.manual_seed(0)
    apn = ApnMethod(ApnConfig())
    apn.refresh_pseudo_labels()
    return apn


def test_training_iteration(benchmark, method):
    """Forward, the three losses, backward: one iteration of 16 windows."""
    def step():
        loss, _ = method.training_loss(1)
        loss.backward()

    benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)


def test_pseudo_label_refresh(benchmark, method):
    """Embedding and constrained k-medoids (C++) over the 200 training videos."""
    benchmark.pedantic(method.refresh_pseudo_labels, rounds=2, iterations=1, warmup_rounds=0)


@pytest.fixture(scope="module")
def ctr_batch(method):
    batch = method._window_batch(method.sampler.draw(16))
    with torch.no_grad():
        embedded = method.model(batch.features, batch.lengths).boundary.embedded
    return embedded, batch.lengths, batch.point_instances, batch.background


@pytest.mark.parametrize("implementation", ["per-instance loops", "batched"])
def test_ctr_loss(benchmark, ctr_batch, implementation):
    embedded, lengths, instances, background = ctr_batch
    if implementation == "batched":
        timed(benchmark, "cpu", lambda: ctr_loss(embedded, lengths, instances, background, 0.1))
    else:
        timed(benchmark, "reference", lambda: ctr_loss_reference(embedded, lengths, instances, background, 0.1))
