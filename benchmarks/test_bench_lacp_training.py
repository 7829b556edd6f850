"""LACP training throughput: ptal (batched losses, C++ exact sequence search) against the faithful
per-video reference (the release's loss one video at a time, tests/models/lacp_release_reference.py, and
the Python beam search), on the synthetic THUMOS14-structured benchmark, 16 videos per iteration, a
search every 10 iterations. D and H are small so that the reference finishes on a CPU; the network's cost
is the same for both, the difference is the losses and the search.

    pytest benchmarks/test_bench_lacp_training.py -s
"""

import pytest
import torch

from benchmarks.backends import timed
from ptal.models import method_config
from ptal.models.lacp import LacpMethod
from ptal.ops import optimal_sequence_search, select_seeds
from tests.models.lacp_release_reference import release_video_loss

DIM, HIDDEN = 256, 512


@pytest.fixture(scope="module")
def method():
    config = method_config(None, [f"data.feature_dim={DIM}", f"model.hidden={HIDDEN}"])
    torch.manual_seed(0)
    lacp = LacpMethod(config)
    lacp.search()  # pseudo labels exist: every loss is on
    return lacp


def ptal_step(method):
    loss, _ = method.training_loss(1)
    loss.backward()


def reference_step(method):
    """The release's iteration: 16 videos one at a time, each its own forward and loss, one backward."""
    videos = method.sampler.draw(16)
    losses = []
    for v in videos:
        item = method.train_items[v]
        length = torch.tensor([len(item.features)])
        out = method.model(item.features[None], length, item.video_labels[None])
        uniform = torch.rand(len(method.class_names), len(item.features), 3)
        losses.append(release_video_loss(out.video_score[0], out.cas[0], out.embedded[0], item.video_labels,
                                         item.point_labels, method.pseudo_labels[v], uniform))
    (sum(losses) / len(losses)).backward()


def reference_search(method):
    """The release's search: one video at a time, select_seeds, then the Python beam search."""
    method.model.eval()
    with torch.no_grad():
        for item in method.train_items:
            length = torch.tensor([len(item.features)])
            out = method.model(item.features[None], length)
            act_seed, bkg_seed = select_seeds(out.cas, item.point_labels[None])
            optimal_sequence_search(out.cas, act_seed, bkg_seed, item.video_labels[None], method="beam",
                                    backend="reference")
    method.model.train()


@pytest.mark.parametrize("kind", ["reference", "ptal"])
def test_training_iteration(benchmark, method, kind):
    benchmark.group = f"lacp training iteration (16 videos, D={DIM}, H={HIDDEN})"
    method.model.train()
    timed(benchmark, "reference" if kind == "reference" else "cpu",
          lambda: (reference_step if kind == "reference" else ptal_step)(method))


@pytest.mark.parametrize("kind", ["reference", "ptal"])
def test_sequence_search_over_the_training_set(benchmark, method, kind):
    benchmark.group = f"lacp sequence search, 200 training videos (D={DIM}, H={HIDDEN})"
    timed(benchmark, "reference" if kind == "reference" else "cpu",
          lambda: reference_search(method) if kind == "reference" else method.search())
