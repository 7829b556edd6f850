"""A toy :class:`ptal.train.Method`: a small regression network on synthetic data that depends on every
random generator a real method may touch, so that resuming is only exact if all of them are restored."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from ptal.train import Method, TrainSettings, end_distributed, seed_everything, train

SAMPLES, FEATURES = 48, 4


class ToyMethod(Method):
    """Regression of synthetic targets by a two-layer network, LACP-shaped:

    * a seeded sampler draws a batch of ``batch_size`` samples per iteration, of which this rank takes
      ``batch[rank::world_size]``, one forward per sample, and returns the mean loss over them;
    * every ``search_every`` iterations ``before_iteration`` recomputes a "pseudo label" (a target shift)
      from torch's, NumPy's and Python's global generators; the ``completeness`` loss part exists only
      once there is one;
    * dropout (optional) draws from torch's global generator;
    * ``evaluate`` returns ``scores[iteration]`` as ``"score"`` when ``scores`` is given, else ``-mse``.
    """

    def __init__(self, *, seed: int = 0, batch_size: int = 8, dropout: float = 0.1, search_every: int = 3,
                 scores: dict[int, float] | None = None, crash_at: int | None = None,
                 device: str = "cpu", dtype: torch.dtype = torch.float64):
        data = torch.Generator().manual_seed(seed)
        inputs = torch.randn(SAMPLES, FEATURES, generator=data, dtype=torch.float64)
        targets = inputs @ torch.randn(FEATURES, 1, generator=data, dtype=torch.float64)
        self.inputs, self.targets = inputs.to(device, dtype), targets.to(device, dtype)
        layers = [torch.nn.Linear(FEATURES, 8), torch.nn.Tanh()]
        if dropout:
            layers.append(torch.nn.Dropout(dropout))
        self.model = torch.nn.Sequential(*layers, torch.nn.Linear(8, 1)).to(device, dtype)
        self.sampler = torch.Generator().manual_seed(seed + 1)
        self.batch_size, self.search_every, self.scores, self.crash_at = batch_size, search_every, scores, crash_at
        self.target_shift: torch.Tensor | None = None
        self.searches = 0
        self.iteration = 0
        self.evaluation_modes: list[tuple[bool, bool]] = []  # (grad enabled, model.training) per evaluate()

    def before_iteration(self, iteration: int) -> None:
        if iteration % self.search_every == 1:
            noise = torch.rand(SAMPLES, 1, dtype=torch.float64) + np.random.rand() + random.random()
            self.target_shift = (0.01 * noise).to(self.targets)
            self.searches += 1

    def training_loss(self, iteration: int):
        if iteration == self.crash_at:
            raise RuntimeError(f"simulated crash at iteration {iteration}")
        self.iteration = iteration
        batch = torch.randperm(SAMPLES, generator=self.sampler)[:self.batch_size]
        targets = self.targets + (self.target_shift if self.target_shift is not None else 0)
        shard = batch[self.context.rank::self.context.world_size]
        losses = torch.stack([((self.model(self.inputs[index:index + 1]) - targets[index]) ** 2).sum()
                              for index in shard.tolist()])
        loss = losses.mean()
        parts = {"mse": loss.detach()}
        if self.target_shift is not None:
            parts["completeness"] = float(self.target_shift.mean())
        return loss, parts

    def evaluate(self) -> dict[str, float]:
        self.evaluation_modes.append((torch.is_grad_enabled(), self.model.training))
        mse = float(((self.model(self.inputs).float() - self.targets) ** 2).mean())
        if self.scores is not None:
            return {"score": self.scores[self.iteration], "mse": mse}
        return {"score": -mse, "mse": mse}

    def state_dict(self) -> dict:
        return {"sampler": self.sampler.get_state(), "target_shift": self.target_shift, "searches": self.searches}

    def load_state_dict(self, state: dict) -> None:
        self.sampler.set_state(state["sampler"])
        self.target_shift, self.searches = state["target_shift"], state["searches"]


def make_toy(**options) -> ToyMethod:
    """A ToyMethod built after seeding every generator, as a training command does."""
    seed_everything(0)
    return ToyMethod(**options)


def settings_for(out_dir, **changes) -> TrainSettings:
    """Small, quiet training settings for tests."""
    return TrainSettings(**{"iterations": 12, "eval_every": 4, "log_every": 2, "lr": 1e-2, "select_by": "score",
                            "out_dir": str(out_dir), "progress": False, **changes})


def distributed_worker(rank: int, world_size: int, port: int, out_dir: str, iterations: int) -> None:
    """One process of a DDP run on Gloo (target of ``torch.multiprocessing.spawn``): trains a toy method
    and saves its final parameters to ``out_dir/rank<rank>.pt``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    method = make_toy(dropout=0.0)
    summary = train(method, settings_for(out_dir, iterations=iterations))
    torch.save({"parameters": method.model.state_dict(), "summary": summary}, os.path.join(out_dir, f"rank{rank}.pt"))
    end_distributed()  # a barrier first: Gloo aborts a process whose peer leaves early
