"""The contract between the shared trainer and a model family (LACP, APN)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from ptal.train.distributed import SINGLE_PROCESS, DistributedContext


class Method(ABC):
    """What the trainer needs from a model family (LACP, APN): subclass it.

    Iterations are numbered 1, 2, ..., ``iterations``; iteration ``i`` ends with the ``i``-th optimiser
    step. The trainer calls, in this order, on every process:

    * ``before_iteration(i)`` — with ``model`` in train mode (switch it yourself, e.g. to eval mode for
      LACP's sequence search; the trainer puts it back in train mode before ``training_loss``);
    * ``training_loss(i)`` — with ``model`` in train mode (under ``torch.autocast`` when AMP is on);
    * every ``eval_every`` iterations and after the last one: ``evaluate()`` under ``torch.no_grad()`` with
      ``model`` in eval mode, on every rank, then (rank 0) ``state_dict()`` for the checkpoint.

    Distributed training (``torchrun``): every process holds a whole ``Method`` whose ``model`` already
    sits on its device (``ptal.train.init_distributed()`` says which). Before the first iteration the
    trainer calls ``setup_distributed(context)``: from then on, ``training_loss`` must draw the same global
    batch on every rank (same seed, same sampler state) and compute the *mean* loss over this rank's shard
    of it, e.g. the videos ``batch[rank::world_size]`` with equal shard sizes. DistributedDataParallel
    averages the gradients over the ranks, so a step equals the single-process step on the whole batch (up
    to the order of floating-point sums). Work over the whole dataset (pseudo labels, evaluation) may be
    split by video over the ranks and gathered (``ptal.train.distributed.all_gather``): ``evaluate`` must
    return the same metrics on every rank. During ``training_loss`` only, ``model`` is replaced by its
    ``DistributedDataParallel`` wrapper: call it (forward), and reach submodules through
    ``ptal.train.unwrap_model(self.model)``. ``state_dict()`` must be the same on every rank (it is taken
    on rank 0 and restored on all), and every rank must report the same loss-part names.
    """

    model: torch.nn.Module
    """The parameters Adam optimises (the trainer wraps it in DistributedDataParallel under torchrun)."""

    context: DistributedContext = SINGLE_PROCESS
    """Which process this is (set by :meth:`setup_distributed`)."""

    def setup_distributed(self, context: DistributedContext) -> None:
        """Called by the trainer before the first iteration: remember where this process stands."""
        self.context = context

    def before_iteration(self, iteration: int) -> None:  # noqa: B027 (a hook: most methods need nothing)
        """Work due before the iteration's batch, e.g. LACP's sequence search every ``search.frequency``
        iterations."""

    @abstractmethod
    def training_loss(self, iteration: int) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """Draw this iteration's batch (from the method's own loader/sampler, seeded) and return the total
        loss (a scalar tensor to backpropagate) and its named parts for the log (floats or scalar tensors;
        tensors are read only when a log line is written)."""

    @abstractmethod
    def evaluate(self) -> dict[str, float]:
        """Metrics of the current model, e.g. ``{"mAP@0.1": ..., "average_0.1:0.7": ...}``; the trainer
        keeps the checkpoint with the highest ``select_by`` metric. Name metrics after the split they
        come from when it matters (e.g. ``"heldout/average_0.1:0.7"``)."""

    def metric_names(self) -> list[str] | None:
        """The names :meth:`evaluate` may return, when known before evaluating (the trainer checks
        ``train.select_by`` against them before the first iteration); None: not known."""
        return None

    @abstractmethod
    def state_dict(self) -> dict:
        """Method state beyond the model (pseudo labels, sampler and generator states): tensors, ints,
        floats, bools, strings, None and lists/tuples/dicts of them, so that checkpoints load with
        ``torch.load(..., weights_only=True)``."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
