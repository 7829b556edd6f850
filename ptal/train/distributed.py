"""Multi-process training with ``torch.distributed``, launched by ``torchrun``: which process this is,
the process group, and the few collectives the trainer needs."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) run.

    Attributes:
        rank: this process's index, 0 to ``world_size - 1``; rank 0 evaluates, logs and saves.
        world_size: number of processes.
        local_rank: this process's index on its machine (its GPU under torchrun).
        device: where this process should put its model: ``cuda:<local_rank>`` when CUDA is available,
            else the CPU.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


SINGLE_PROCESS = DistributedContext(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
"""The context of a run without torchrun (its device is irrelevant to the collectives below)."""


def init_distributed() -> DistributedContext:
    """This process's context, read from torchrun's environment (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); a single process when they are absent.

    With more than one process it selects the CUDA device ``LOCAL_RANK`` and initialises the default
    process group (NCCL on CUDA, Gloo on the CPU) unless it already is. Safe to call more than once: call
    it before building the model, to know where to put it; :func:`ptal.train.train` calls it too. The
    caller that launched the run ends it with ``torch.distributed.destroy_process_group()``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"inconsistent torch.distributed environment: RANK={rank}, WORLD_SIZE={world_size}")
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                                rank=rank, world_size=world_size)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


_FAILURE_KEY = "ptal/failure"


def end_distributed() -> None:
    """End the process group of a run that ended well, if one is open: every process waits for the others first (a
    process leaving while another still talks to it makes Gloo abort that one, "terminate called ...")."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def report_failure(message: str) -> None:
    """Tell the other processes of a torchrun run why this one stops (best effort; nothing without a process
    group): they then stop without repeating it (:func:`failure_of_another_process`)."""
    if dist.is_initialized():
        try:
            dist.distributed_c10d._get_default_store().set(_FAILURE_KEY, message)
        except Exception:  # noqa: BLE001 (the store may be gone with the process that hosted it)
            pass


def failure_of_another_process() -> str | None:
    """The message of the process that stopped the run (:func:`report_failure`), when this process can read
    it: the run's store lives in rank 0 (``env://``) or in torchrun's agent. None otherwise."""
    if not dist.is_initialized() or not (dist.get_rank() == 0 or os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"):
        return None
    try:
        store = dist.distributed_c10d._get_default_store()
        return store.get(_FAILURE_KEY).decode("utf-8", errors="replace") if store.check([_FAILURE_KEY]) else None
    except Exception:  # noqa: BLE001
        return None


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel wrapper, or ``model`` itself."""
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return model.module
    return model


def gather_to_main(context: DistributedContext, value) -> list | None:
    """Every rank's ``value`` (picklable), in rank order, on rank 0; None on the other ranks. Every rank
    must call it."""
    if not context.is_distributed:
        return [value]
    gathered = [None] * context.world_size if context.is_main else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def all_gather(context: DistributedContext, value) -> list:
    """Every rank's ``value`` (picklable; tensors travel through the host), in rank order, on every rank.
    Every rank must call it."""
    if not context.is_distributed:
        return [value]
    gathered = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def shard_blocks(context: DistributedContext, count: int, block: int) -> list[range]:
    """This rank's blocks of ``range(count)`` cut every ``block`` items, dealt out round-robin: rank r
    gets blocks r, r + world_size, ... A single process gets them all, so per-block work is the same
    however many processes share it."""
    blocks = [range(first, min(first + block, count)) for first in range(0, count, block)]
    return blocks[context.rank::context.world_size]


def broadcast_from_main(context: DistributedContext, value):
    """Rank 0's ``value`` (picklable) on every rank. Every rank must call it."""
    if not context.is_distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sum_over_ranks(context: DistributedContext, values: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of ``values`` over the ranks (every rank must call it with the same shape)."""
    if not context.is_distributed:
        return values
    values = values.to(context.device)
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values.cpu()
