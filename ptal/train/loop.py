"""The shared training loop: seeded Adam steps on a :class:`~ptal.train.method.Method`, periodic
evaluation, a JSONL log, atomic checkpoints with exact resume, optional AMP, and DDP under torchrun."""
from __future__ import annotations

import contextlib
import dataclasses
import filecmp
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ptal.data.atomic import append_json_line, copy_file_atomic, remove_stray_temporaries
from ptal.train.checkpoint import CheckpointError, check_like, load_checkpoint, save_checkpoint
from ptal.train.distributed import (
    DistributedContext,
    broadcast_from_main,
    gather_to_main,
    init_distributed,
    sum_over_ranks,
    unwrap_model,
)
from ptal.train.lock import run_lock
from ptal.train.method import Method
from ptal.train.rng import capture_rng_state, restore_rng_state
from ptal.train.run_log import LOG_NAME, restart_run_log
from ptal.train.sync import explicit_sync

LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
# Fields of a log record that depend on the machine's speed; everything else is reproducible.
TIMING_FIELDS = ("iterations_per_s", "elapsed_s", "eval_s")


@dataclass
class TrainSettings:
    """The ``train`` section of a run configuration (defaults: the LACP release's).

    Attributes:
        iterations: optimiser steps in the whole run.
        lr, betas, weight_decay: Adam's hyper-parameters (weight decay as an L2 term, as ``torch.optim.Adam``).
        eval_every: evaluate, log and save ``last.pt`` every this many iterations and after the last one.
        select_by: the metric of ``Method.evaluate()`` that picks ``best.pt`` (higher is better; the first
            of equal values is kept).
        seed: what the caller seeds every generator with before building the method (``ptal train`` does:
            :func:`ptal.train.seed_everything`), and the seed of the methods' samplers.
        out_dir: where ``log.jsonl``, ``last.pt`` and ``best.pt`` go.
        amp: mixed precision (float16 autocast and gradient scaling); needs the model on CUDA.
        log_every: write a log line (mean losses since the previous line) every this many iterations.
        progress: show a progress bar (rank 0 only).
    """

    iterations: int = 2000
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 5e-4
    eval_every: int = 100
    select_by: str = "average_0.1:0.7"
    seed: int = 0
    out_dir: str = "runs/train"
    amp: bool = False
    log_every: int = 10
    progress: bool = True

    def __post_init__(self):
        self.betas = tuple(self.betas)
        for name in ("iterations", "eval_every", "log_every", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "seed" else 1):
                raise ValueError(f"train.{name} must be an integer >= {0 if name == 'seed' else 1}, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"train.weight_decay must be >= 0, got {self.weight_decay!r}")
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise ValueError(f"train.betas must be two numbers in [0, 1), got {self.betas!r}")
        if not self.select_by or not self.out_dir:
            raise ValueError("train.select_by and train.out_dir must not be empty")

    @classmethod
    def from_config(cls, section: Mapping) -> TrainSettings:
        """Settings from a config's ``train`` section (as :func:`ptal.train.load_config` returns it)."""
        unknown = set(section) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown train settings: {', '.join(sorted(unknown))}")
        return cls(**section)

    def to_config(self) -> dict:
        """The settings as a config section: also the defaults to give :func:`ptal.train.load_config`."""
        return dataclasses.asdict(self)


def check_select_by(method: Method, settings: TrainSettings) -> None:
    """ValueError when ``train.select_by`` is not one of the method's metric names (where it knows them)."""
    names = method.metric_names()
    if names is not None and settings.select_by not in names:
        raise ValueError(f"train.select_by={settings.select_by!r} is not a metric of {type(method).__name__}: "
                         f"{', '.join(names)}")


def check_out_dir_is_free(out_dir: str | Path) -> None:
    """Raise FileExistsError when ``out_dir`` already holds a run: its checkpoint ``last.pt``. (A log
    without ``last.pt`` is a run stopped before its first checkpoint: a fresh run starts it again.)"""
    out_dir = Path(out_dir)
    if (out_dir / LAST_CHECKPOINT).exists():
        raise FileExistsError(f"{out_dir} already holds a run ({LAST_CHECKPOINT}): continue it with "
                              f"ptal train --resume {out_dir / LAST_CHECKPOINT}, or choose another train.out_dir")


def _tidy_out_dir(out_dir: Path, *, fresh: bool) -> None:
    """Before a run writes into ``out_dir`` (holding its lock): remove the temporary files of writes a
    crash interrupted and, for a fresh run, the files of a run stopped before its first checkpoint."""
    stray = remove_stray_temporaries(out_dir)
    if stray:
        warnings.warn(f"{out_dir}: removed {len(stray)} temporary file(s) of an interrupted write "
                      f"({', '.join(path.name for path in stray[:3])})", stacklevel=4)
    if fresh:
        check_out_dir_is_free(out_dir)
        left = [out_dir / name for name in (LOG_NAME, BEST_CHECKPOINT) if (out_dir / name).exists()]
        if left:
            warnings.warn(f"{out_dir}: the run there stopped before its first checkpoint (no {LAST_CHECKPOINT}); "
                          f"starting it again", stacklevel=4)
            for path in left:
                path.unlink()


def train(method: Method, settings: TrainSettings, *, resume: str | None = None, config: dict | None = None) -> dict:
    """Train ``method.model`` with Adam for ``settings.iterations`` iterations.

    Each iteration: ``before_iteration(i)``, ``training_loss(i)``, backward, one Adam step. Every
    ``log_every`` iterations a line goes to ``out_dir/log.jsonl`` (``iteration``, ``loss`` and ``losses``:
    means over the iterations since the previous line and over the ranks; ``iterations_per_s`` of the
    training steps, evaluation and saving excluded; ``elapsed_s`` since the run began, resumed runs
    included). Every ``eval_every`` iterations and after the last, every rank evaluates (the line gets
    ``metrics``, ``best`` and ``eval_s``) and rank 0 saves ``out_dir/last.pt`` and, when ``select_by``
    improves, ``out_dir/best.pt``, atomically, in the order log line, ``best.pt``, ``last.pt``.

    Seed every generator before building the method (:func:`ptal.train.seed_everything` with
    ``settings.seed``): its initial weights and everything the run draws follow from there. Rank 0 holds
    ``out_dir``'s lock (:mod:`ptal.train.lock`) for the whole call: a second run into the same folder is
    refused. A fresh run refuses an ``out_dir`` that already holds a run (its ``last.pt``) and starts
    again one stopped before its first checkpoint; every run first removes the temporary files that a
    crash left there. A loss that is not finite stops the run (FloatingPointError naming the iteration
    and the loss terms) and leaves ``last.pt`` as it was. ``resume`` (a checkpoint, e.g. ``out_dir/last.pt``) restores the model, the optimiser,
    the method's state, the trainer's bookkeeping, the iteration and every generator of every rank, and
    cuts the log found next to the checkpoint back to that iteration, so the run continues exactly as if
    never interrupted. ``settings`` (iterations, learning rate, ...) apply from there on.

    Under torchrun (``WORLD_SIZE > 1``) see :class:`~ptal.train.method.Method` for what the method must
    do; every rank calls ``train`` and gets the same summary.

    Args:
        config: the whole run configuration, stored in the checkpoints (default: ``{"train": settings}``).

    Returns:
        ``{"select_by", "best_value", "best_iteration", "final_iteration", "final_metrics",
        "best_checkpoint", "last_checkpoint", "log"}``; ``best_*`` are None if no evaluation had a finite
        ``select_by`` value.
    """
    if not isinstance(method, Method):
        raise TypeError(f"{type(method).__name__} is not a ptal.train.Method: subclass it")
    context = init_distributed()
    run = _Run(method, settings, context, config if config is not None else {"train": settings.to_config()})
    with run_lock(settings.out_dir) if context.is_main else contextlib.nullcontext():
        if resume is not None:
            run.resume_from(resume)
        else:
            run.start_fresh()
        run.train()
    return broadcast_from_main(context, run.summary())


class _Run:
    """One call of :func:`train`: the objects it works on and its bookkeeping."""

    def __init__(self, method: Method, settings: TrainSettings, context: DistributedContext, config: dict):
        self.method, self.settings, self.context, self.config = method, settings, context, config
        self.model = unwrap_model(method.model)
        self.out_dir = Path(settings.out_dir)
        if settings.amp and {parameter.device.type for parameter in self.model.parameters()} != {"cuda"}:
            raise ValueError("train.amp=true needs CUDA, and the model's parameters are not all on a CUDA device; "
                             "set train.amp=false")
        check_select_by(method, settings)
        method.setup_distributed(context)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.lr, betas=settings.betas,
                                          weight_decay=settings.weight_decay)
        self.scaler = torch.amp.GradScaler("cuda", enabled=settings.amp)
        self.iteration = 0
        self.best_value: float | None = None
        self.best_iteration: int | None = None
        self.last_metrics: dict | None = None
        self.earlier_elapsed_s = 0.0
        self.last_good: tuple[Path, int] | None = None  # the latest checkpoint saved or resumed from

    def start_fresh(self) -> None:
        if self.context.is_main:
            _tidy_out_dir(self.out_dir, fresh=True)

    def resume_from(self, path: str) -> None:
        checkpoint = load_checkpoint(path)
        if checkpoint["iteration"] > self.settings.iterations:
            raise ValueError(f"checkpoint {path} is at iteration {checkpoint['iteration']}, past "
                             f"train.iterations={self.settings.iterations}")
        try:
            self._restore(checkpoint, path)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as error:
            raise CheckpointError(f"checkpoint {path}: its state does not fit this run's model and method "
                                  f"({type(error).__name__}: {error})") from error
        if self.context.is_main:
            _tidy_out_dir(self.out_dir, fresh=Path(path).parent.resolve() != self.out_dir.resolve())
            source = Path(path).parent / LOG_NAME
            if source.is_file():
                restart_run_log(source, self.out_dir / LOG_NAME, self.iteration)
            else:
                warnings.warn(f"no {LOG_NAME} next to {path}: the new log starts at iteration {self.iteration + 1}",
                              stacklevel=3)
            best = self.out_dir / BEST_CHECKPOINT
            if self.best_iteration == self.iteration and not (best.is_file() and filecmp.cmp(path, best, shallow=False)):
                copy_file_atomic(path, best)  # a crash came between last.pt and its copy best.pt

    def _restore(self, checkpoint: dict, path: str) -> None:
        """The model, optimiser, method, trainer and generator states of a checkpoint, first checked."""
        self._check_state(checkpoint, path)
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        for group in self.optimizer.param_groups:
            group.update(lr=self.settings.lr, betas=self.settings.betas, weight_decay=self.settings.weight_decay)
        self.method.load_state_dict(checkpoint["method"])
        trainer = checkpoint["trainer"]
        if trainer["grad_scaler"]:  # empty when the checkpointed run had AMP off
            self.scaler.load_state_dict(trainer["grad_scaler"])
        self.iteration = checkpoint["iteration"]
        self.last_good = (Path(path), self.iteration)
        self.best_value, self.best_iteration = trainer["best_value"], trainer["best_iteration"]
        self.last_metrics, self.earlier_elapsed_s = trainer["last_metrics"], trainer["elapsed_s"]
        rng_states = checkpoint["rng"]
        if len(rng_states) != self.context.world_size:
            warnings.warn(f"checkpoint {path} was written by {len(rng_states)} processes and this run has "
                          f"{self.context.world_size}: it continues, but not exactly as the original run would",
                          stacklevel=4)
        try:  # shapes and types were checked (_check_state); values a generator refuses are caught here
            restore_rng_state(rng_states[min(self.context.rank, len(rng_states) - 1)])
        except (ValueError, OverflowError, TypeError, RuntimeError) as error:
            raise CheckpointError(f"checkpoint {path}: rng: a generator state it cannot take ({error})") from None

    def _check_state(self, checkpoint: dict, path: str) -> None:
        """CheckpointError unless every state of ``checkpoint`` is shaped like this run's own
        (:func:`~ptal.train.checkpoint.check_like`): the model's, the method's as built, Adam's for these
        parameters, the trainer's bookkeeping, the generators'."""
        for key, expected in self._state_reference().items():
            check_like(expected, checkpoint[key], path, key)
        groups = checkpoint["optimizer"]["param_groups"]
        if not isinstance(groups, list) or len(groups) != len(self.optimizer.param_groups):
            raise CheckpointError(f"checkpoint {path}: optimizer/param_groups is not a list of "
                                  f"{len(self.optimizer.param_groups)} parameter group(s)")
        for index, (expected, found) in enumerate(zip(self.optimizer.state_dict()["param_groups"], groups)):
            if not isinstance(found, dict):
                raise CheckpointError(f"checkpoint {path}: optimizer/param_groups/{index} is not a dict")
            for key in expected.keys() & found.keys():  # (torch fills in settings an older checkpoint lacks)
                check_like(expected[key], found[key], path, f"optimizer/param_groups/{index}/{key}")
            if found.get("params") != expected["params"]:  # Adam's state is matched to the parameters by them
                raise CheckpointError(f"checkpoint {path}: optimizer/param_groups/{index}/params is "
                                      f"{found.get('params')!r:.60}, not this model's parameter indices "
                                      f"{expected['params']!r:.60}")
        parameters = [parameter for group in self.optimizer.param_groups for parameter in group["params"]]
        for index, state in checkpoint["optimizer"]["state"].items():  # Adam's, of the parameters it stepped
            if not isinstance(index, int) or not 0 <= index < len(parameters):
                raise CheckpointError(f"checkpoint {path}: optimizer/state has an entry {index!r} for no parameter")
            check_like({"step": torch.zeros(()), "exp_avg": torch.zeros_like(parameters[index]),
                        "exp_avg_sq": torch.zeros_like(parameters[index])}, state, path, f"optimizer/state/{index}")
        _check_trainer_state(checkpoint["trainer"], checkpoint["iteration"], path)

    def _state_reference(self) -> dict:
        """What a checkpoint of this run holds, as far as it is known before any is read."""
        return {"model": self.model.state_dict(), "method": self.method.state_dict(), "rng": [capture_rng_state()],
                "trainer": {"best_value": None, "best_iteration": None, "last_metrics": None, "elapsed_s": 0.0,
                            "grad_scaler": self.scaler.state_dict()},
                "optimizer": {"state": None, "param_groups": None}}

    def train(self) -> None:
        settings, context = self.settings, self.context
        training_model = self.model
        if context.is_distributed:
            device_ids = [context.device.index] if context.device.type == "cuda" else None
            training_model = DistributedDataParallel(self.model, device_ids=device_ids)
        autocast = torch.autocast("cuda", dtype=torch.float16) if settings.amp else contextlib.nullcontext()
        window = _LossWindow()
        started = time.perf_counter()
        progress = tqdm(total=settings.iterations, initial=self.iteration, desc="train", unit="it",
                        dynamic_ncols=True, disable=not (context.is_main and settings.progress))
        with progress:
            for iteration in range(self.iteration + 1, settings.iterations + 1):
                step_started = time.perf_counter()
                self.model.train()
                self.method.before_iteration(iteration)
                self.model.train()
                with _model_replaced(self.method, training_model), autocast:
                    loss, parts = self.method.training_loss(iteration)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.iteration = iteration
                window.add(iteration, loss, parts, seconds=time.perf_counter() - step_started)
                progress.update()

                evaluating = iteration % settings.eval_every == 0 or iteration == settings.iterations
                if not (evaluating or iteration % settings.log_every == 0):
                    continue
                with explicit_sync():  # the log line, evaluation and checkpoints read the device
                    record = {"iteration": iteration, **self._finite_means(window)}
                    if evaluating:
                        record.update(self._evaluate())
                    record["elapsed_s"] = self._elapsed_s(started)
                    if context.is_main:
                        append_json_line(self.out_dir / LOG_NAME, record)
                        progress.set_postfix(loss=f"{record['loss']:.4g}", refresh=False)
                    if evaluating:
                        self._save_checkpoints(improved=self.best_iteration == iteration,
                                               elapsed_s=record["elapsed_s"])

    def _finite_means(self, window: _LossWindow) -> dict:
        """The window's means for the log line; FloatingPointError when a loss of the window is not finite
        (the optimiser has stepped on it: nothing of this state is saved)."""
        try:
            return window.take_means(self.context)
        except FloatingPointError as error:
            raise FloatingPointError(f"{error}; the run stops, {self._last_good()}") from None

    def _last_good(self) -> str:
        if self.last_good is None:
            return f"before its first checkpoint (none in {self.out_dir})"
        path, iteration = self.last_good
        return f"{path} (iteration {iteration}) is the last good checkpoint"

    def _check_finite_weights(self) -> None:
        """FloatingPointError when a parameter is not finite (a non-finite gradient under a finite loss)."""
        names, parameters = zip(*self.model.named_parameters())
        finite = torch.stack([torch.isfinite(parameter).all() for parameter in parameters])
        if not finite.all():  # one read of the device
            bad = [name for name, good in zip(names, finite.tolist()) if not good]
            raise FloatingPointError(f"the weights are not finite at iteration {self.iteration} ({', '.join(bad[:3])}"
                                     f"{', ...' if len(bad) > 3 else ''}) although the loss was: a gradient was not "
                                     f"finite; the run stops, {self._last_good()}")

    def _evaluate(self) -> dict:
        """Evaluate (every rank: the method may split the work) and update the best metric; the log fields
        of the evaluation."""
        evaluation_started = time.perf_counter()
        self.model.eval()
        with torch.no_grad():
            metrics = {name: float(value) for name, value in self.method.evaluate().items()}
        metrics = broadcast_from_main(self.context, metrics)  # the ranks keep the same best checkpoint
        self.model.train()
        if self.settings.select_by not in metrics:
            raise ValueError(f"train.select_by={self.settings.select_by!r} is not among the metrics of "
                             f"{type(self.method).__name__}.evaluate(): {', '.join(metrics) or 'none'}")
        value = metrics[self.settings.select_by]
        if math.isfinite(value) and (self.best_value is None or value > self.best_value):
            self.best_value, self.best_iteration = value, self.iteration
        self.last_metrics = metrics
        return {"metrics": {name: _finite_or_none(value) for name, value in metrics.items()},
                "best": {"metric": self.settings.select_by, "value": self.best_value, "iteration": self.best_iteration},
                "eval_s": time.perf_counter() - evaluation_started}

    def _save_checkpoints(self, *, improved: bool, elapsed_s: float) -> None:
        """Save ``last.pt`` then (if ``improved``) its copy ``best.pt`` on rank 0, with every rank's
        generators; refuse non-finite weights."""
        self._check_finite_weights()
        rng_states = gather_to_main(self.context, capture_rng_state())
        self.last_good = (self.out_dir / LAST_CHECKPOINT, self.iteration)
        if not self.context.is_main:
            return
        trainer_state = {"best_value": self.best_value, "best_iteration": self.best_iteration,
                         "last_metrics": self.last_metrics, "elapsed_s": elapsed_s,
                         "grad_scaler": self.scaler.state_dict()}
        save_checkpoint(self.out_dir / LAST_CHECKPOINT, model=self.model, optimizer=self.optimizer,
                        method_state=self.method.state_dict(), iteration=self.iteration, config=self.config,
                        rng=rng_states, trainer_state=trainer_state)
        if improved:  # a crash between the two is repaired on resume: last.pt knows it is the best
            copy_file_atomic(self.out_dir / LAST_CHECKPOINT, self.out_dir / BEST_CHECKPOINT)

    def _elapsed_s(self, started: float) -> float:
        return self.earlier_elapsed_s + time.perf_counter() - started

    def summary(self) -> dict:
        return {
            "select_by": self.settings.select_by,
            "best_value": self.best_value,
            "best_iteration": self.best_iteration,
            "final_iteration": self.iteration,
            "final_metrics": self.last_metrics,
            "best_checkpoint": str(self.out_dir / BEST_CHECKPOINT) if self.best_iteration is not None else None,
            "last_checkpoint": str(self.out_dir / LAST_CHECKPOINT),
            "log": str(self.out_dir / LOG_NAME),
        }


def _check_trainer_state(trainer: dict, iteration: int, path: str) -> None:
    """CheckpointError unless the trainer's bookkeeping of a checkpoint (its keys already checked) is what
    :meth:`_Run._save_checkpoints` writes: the best value finite or None, at an iteration up to the
    checkpoint's; metrics by name; a finite elapsed time."""
    best_value, best_iteration, metrics = trainer["best_value"], trainer["best_iteration"], trainer["last_metrics"]
    valid = {
        "best_value": best_value is None or isinstance(best_value, float) and math.isfinite(best_value),
        "best_iteration": best_iteration is None and best_value is None or isinstance(best_iteration, int)
        and not isinstance(best_iteration, bool) and 0 < best_iteration <= iteration,
        "last_metrics": metrics is None or isinstance(metrics, dict) and all(
            isinstance(name, str) and isinstance(value, float) for name, value in metrics.items()),
        "elapsed_s": trainer["elapsed_s"] >= 0,
    }
    for key, fits in valid.items():
        if not fits:
            raise CheckpointError(f"checkpoint {path}: trainer/{key} is {trainer[key]!r:.40}: it does not come from "
                                  f"this run's trainer")


@contextlib.contextmanager
def _model_replaced(method: Method, training_model: torch.nn.Module):
    """``method.model`` is ``training_model`` (the DDP wrapper, if any) inside the block."""
    model = method.model
    method.model = training_model
    try:
        yield
    finally:
        method.model = model


class _LossWindow:
    """Sums of the loss and its parts over the iterations since the last log line. Tensors are summed
    where they live and read only when the means are taken, so no iteration waits for the GPU."""

    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        self.iterations = 0
        self.seconds = 0.0
        self.loss_sum = 0.0
        self.part_sums: dict = {}
        self.part_counts: dict[str, int] = {}
        self.steps: list[tuple[int, torch.Tensor, dict]] = []  # (iteration, loss, parts): read only on failure

    def add(self, iteration: int, loss: torch.Tensor, parts: Mapping, *, seconds: float) -> None:
        self.iterations += 1
        self.seconds += seconds
        self.loss_sum = self.loss_sum + loss.detach()
        parts = {name: value.detach() if isinstance(value, torch.Tensor) else value for name, value in parts.items()}
        for name, value in parts.items():
            self.part_sums[name] = self.part_sums.get(name, 0.0) + value
            self.part_counts[name] = self.part_counts.get(name, 0) + 1
        self.steps.append((iteration, loss.detach(), parts))

    def take_means(self, context: DistributedContext) -> dict:
        """``loss``, ``losses`` (per part) and ``iterations_per_s`` of this window, averaged over the ranks
        (every rank must call it), then an empty window. FloatingPointError when the loss of an iteration
        was not finite on some rank, naming the first such iteration and its non-finite parts."""
        names = sorted(self.part_sums)
        totals = sum_over_ranks(context, torch.tensor(
            [float(self.loss_sum), *(float(self.part_sums[name]) for name in names),
             self.iterations, *(self.part_counts[name] for name in names)], dtype=torch.float64))
        sums, counts = totals[:len(names) + 1].tolist(), totals[len(names) + 1:].tolist()
        loss = sums[0] / counts[0]
        if not math.isfinite(loss):
            raise FloatingPointError(self._first_non_finite(context, names))
        means = {"loss": loss,
                 "losses": {name: _finite_or_none(total / count) for name, total, count in zip(names, sums[1:], counts[1:])},
                 "iterations_per_s": self.iterations / self.seconds if self.seconds > 0 else None}
        self._reset()
        return means

    def _first_non_finite(self, context: DistributedContext, names: list[str]) -> str:
        """Which iteration's loss was first not finite (summed over the ranks), and in which terms."""
        table = sum_over_ranks(context, torch.tensor(
            [[float(loss), *(float(parts.get(name, 0.0)) for name in names)] for _, loss, parts in self.steps],
            dtype=torch.float64))
        for (iteration, _, _), row in zip(self.steps, table.tolist()):
            if not math.isfinite(row[0]):
                terms = [f"{name} = {value}" for name, value in zip(names, row[1:]) if not math.isfinite(value)]
                where = f"in the loss term(s) {', '.join(terms)}" if terms else "with every logged term finite"
                return f"the training loss is {row[0]} at iteration {iteration}, {where}"
        return f"the training loss is not finite in the iterations {self.steps[0][0]} to {self.steps[-1][0]}"


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: they are logged as null."""
    return value if math.isfinite(value) else None
