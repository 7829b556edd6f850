"""Training checkpoints: everything needed to continue a run exactly, written atomically, readable with
``torch.load(..., weights_only=True)`` (tensors, numbers, strings, lists, tuples and dicts only)."""
from __future__ import annotations

import math
from os import PathLike
from pathlib import Path

import torch

from ptal.data.atomic import atomic_file
from ptal.train.distributed import unwrap_model

CHECKPOINT_FORMAT = "ptal.train.checkpoint/1"
_REQUIRED_KEYS = {"iteration": int, "model": dict, "optimizer": dict, "method": dict, "config": dict, "rng": list,
                  "trainer": dict}


class CheckpointError(ValueError):
    """A file that is not a readable ptal training checkpoint."""


def save_checkpoint(path: str | PathLike, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    method_state: dict, iteration: int, config: dict, rng: list[dict],
                    trainer_state: dict | None = None) -> None:
    """Write a checkpoint to ``path`` atomically (temporary file, fsync, rename): a crash while saving
    leaves the previous file as it was.

    Args:
        model: the trained module (a DistributedDataParallel wrapper is unwrapped, so the keys have no
            ``module.`` prefix).
        optimizer: its state (Adam's moments and step counts) is saved.
        method_state: ``Method.state_dict()``.
        iteration: number of optimiser steps taken.
        config: the run's configuration (plain nested dict).
        rng: the generator states of every rank, in rank order (``capture_rng_state()`` of each).
        trainer_state: the trainer's own bookkeeping (best metric so far, gradient scaler, ...).
    """
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "iteration": int(iteration),
        "model": unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "method": method_state,
        "config": config,
        "rng": rng,
        "trainer": trainer_state or {},
    }
    with atomic_file(path) as file:
        torch.save(checkpoint, file)


def load_checkpoint(path: str | PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` with ``torch.load(..., weights_only=True)``.

    Returns:
        The dict with keys ``format``, ``iteration``, ``model``, ``optimizer``, ``method``, ``config``,
        ``rng`` (one state per rank) and ``trainer``; tensors on ``map_location``.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is truncated, corrupt, holds objects other than plain data, or is not a
            ptal training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path}: no such file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load raises many types for corrupt files (RuntimeError, EOFError, ...)
        # torch's own message may advise weights_only=False, i.e. running the file's code: not repeated here.
        raise CheckpointError(f"checkpoint {path}: cannot be read as a ptal checkpoint: the file is truncated, "
                              f"corrupt, or holds objects other than plain data ({type(error).__name__})") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path}: not a ptal training checkpoint (format "
                              f"{checkpoint.get('format') if isinstance(checkpoint, dict) else None!r}, "
                              f"expected {CHECKPOINT_FORMAT!r})")
    missing = [key for key in _REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"checkpoint {path}: incomplete, missing {', '.join(missing)}")
    for key, kind in _REQUIRED_KEYS.items():
        if not isinstance(checkpoint[key], kind) or isinstance(checkpoint[key], bool):
            raise CheckpointError(f"checkpoint {path}: its {key} is {checkpoint[key]!r:.40}, not a {kind.__name__}")
    if checkpoint["iteration"] < 0:
        raise CheckpointError(f"checkpoint {path}: its iteration is {checkpoint['iteration']}, not >= 0")
    return checkpoint


def check_like(expected, found, path: str | PathLike, where: str) -> None:
    """Raise CheckpointError (naming the checkpoint ``path`` and the entry ``where``) when ``found``, a part of
    a loaded checkpoint, is not shaped like ``expected``, the state of the run that is to take it: the same
    keys, types, and tensor dtypes and shapes, with finite floating-point values. None in ``expected`` (a
    state not yet made, e.g. pseudo labels before the first search) accepts anything; a list may have
    another length, its items shaped like ``expected``'s first."""
    def refuse(what: str):
        raise CheckpointError(f"checkpoint {path}: {where} {what}: it does not come from this run's model and method")

    if expected is None:
        return
    if isinstance(expected, dict):
        if not isinstance(found, dict):
            refuse(f"is a {type(found).__name__}, not a dict")
        if found.keys() != expected.keys():
            missing, extra = sorted(map(str, expected.keys() - found.keys())), sorted(map(str, found.keys() - expected.keys()))
            refuse(f"has {'missing ' + ', '.join(missing) if missing else ''}{' and ' if missing and extra else ''}"
                   f"{'unknown ' + ', '.join(extra) if extra else ''} entries")
        for key in expected:
            check_like(expected[key], found[key], path, f"{where}/{key}")
    elif isinstance(expected, (list, tuple)):
        if not isinstance(found, (list, tuple)):
            refuse(f"is a {type(found).__name__}, not a list")
        for index, item in enumerate(found):
            if expected:
                check_like(expected[min(index, len(expected) - 1)], item, path, f"{where}/{index}")
    elif isinstance(expected, torch.Tensor):
        if not isinstance(found, torch.Tensor):
            refuse(f"is a {type(found).__name__}, not a tensor")
        if found.dtype != expected.dtype or found.shape != expected.shape:
            refuse(f"is a {found.dtype} tensor of shape {tuple(found.shape)}, not {expected.dtype} {tuple(expected.shape)}")
        if found.is_floating_point() and not torch.isfinite(found).all():
            refuse("holds values that are not finite")
    elif isinstance(expected, bool) or isinstance(found, bool):
        if type(found) is not type(expected):
            refuse(f"is {found!r}, not {type(expected).__name__}")
    elif isinstance(expected, (int, float)):
        if not isinstance(found, (int, float)) or isinstance(expected, int) and not isinstance(found, int):
            refuse(f"is {found!r:.40}, not a {type(expected).__name__}")
        if isinstance(found, float) and not math.isfinite(found):
            refuse(f"is {found!r}, not finite")
    elif not isinstance(found, type(expected)):
        refuse(f"is {found!r:.40}, not a {type(expected).__name__}")
