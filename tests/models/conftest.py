import pytest

from ptal.cli import main

# Tiny networks and runs: the whole pipeline, in seconds.
TINY_LACP = ["data.feature_dim=8", "model.hidden=16", "train.iterations=12", "train.eval_every=12", "train.progress=false"]
TINY_APN = ["data.feature_dim=8", "model.embed_dim=16", "model.bdm_hidden=16", "model.pem_dim=8", "model.pem_heads=2",
            "model.num_samples=4", "proposals.max_proposals=20", "proposals.train_per_window=4",
            "train.iterations=12", "train.eval_every=12", "train.progress=false", "inference.batch_windows=64"]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The run folder of ``ptal demo`` of both models (the default) on tiny settings."""
    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--out", str(out), *(f"lacp.{o}" for o in TINY_LACP), *(f"apn.{o}" for o in TINY_APN)]) == 0
    return out
