"""A real ``ptal train`` killed with SIGKILL again and again, each time continued as a user would:
``ptal train --resume OUT/last.pt`` when that file exists, else the command that started the run.

    python -m tests.reliability.kill_chain FAMILY ANNOTATIONS WORK --kills N --seed S

This process is a fork server (tests/reliability/forks.py): it runs the uninterrupted reference run itself,
then forks every run of the chain. Each child runs ``ptal.cli.main`` unchanged; what the driver adds is
observation and the kill:

* a pipe on which the child reports every iteration it completes (``_LossWindow.add``);
* the moment of the kill, drawn from a seeded generator: after a random delay (anywhere: building the
  data, training, evaluating, writing), or from inside the child, ``os.kill(pid, SIGKILL)`` at a drawn
  point of a write of ``last.pt``/``best.pt``/``log.jsonl``: after a random number of bytes of the
  temporary file, before its fsync, before or after its rename, before or halfway through a log append.

After each kill the run folder is copied to ``WORK/snapshots/NN`` and the chain goes on; once ``--kills``
kills have landed, the run is continued to its end. An uninterrupted run of the same command goes to
``WORK/reference``. ``WORK/report.json`` lists every cycle: the command, the kill, the last iteration the
child completed, the first iteration it started from, its exit status and its stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported (tests/reliability/forks.py)

from tests.reliability.faults import WrappedFile  # noqa: E402
from tests.reliability.forks import fork_ptal, run_ptal_here  # noqa: E402

ITERATIONS, EVAL_EVERY, LOG_EVERY = 100, 4, 2
TRAPS = ("checkpoint bytes", "checkpoint before fsync", "checkpoint before rename", "checkpoint after rename",
         "log before append", "log halfway through an append", "log rewrite bytes")
KINDS = ("timer", *TRAPS)


def command(family: str, annotations: str, out_dir: Path) -> list[str]:
    from tests.reliability.mini import mini_overrides

    return ["train", *mini_overrides(family, annotations), f"train.iterations={ITERATIONS}",
            f"train.eval_every={EVAL_EVERY}", f"train.log_every={LOG_EVERY}", "train.progress=false",
            f"train.out_dir={out_dir}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("family", choices=("lacp", "apn"))
    parser.add_argument("annotations")
    parser.add_argument("work", type=Path)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = args.work / "run"
    fresh = command(args.family, args.annotations, out)
    rng = random.Random(args.seed)
    started = time.monotonic()
    status = run_ptal_here(fresh[:-1] + [f"train.out_dir={args.work / 'reference'}"], args.work / "reference.err")
    reference = {"status": status, "seconds": time.monotonic() - started}
    sizes = {"checkpoint": min((args.work / "reference" / name).stat().st_size for name in ("last.pt", "best.pt")),
             "log": 200}  # a log line is longer
    cycles = []
    kills = 0
    # Every kind of kill at least once (the first: inside the first checkpoint, before any last.pt exists),
    # then drawn at random; a resumed run's log rewrite only when resuming.
    pending = ["checkpoint bytes", *rng.sample([kind for kind in KINDS if kind != "checkpoint bytes"], len(KINDS) - 1)]
    while kills < args.kills:
        resume = (out / "last.pt").exists()
        possible = [kind for kind in pending or KINDS if resume or kind != "log rewrite bytes"]
        kind = possible[0] if pending else rng.choice(possible)
        if kind in pending:
            pending.remove(kind)
        checkpoint = _iteration_of(out / "last.pt")
        once = not cycles or kind == "log rewrite bytes"  # the first run's first checkpoint; one rewrite a resume
        plan = {"kind": kind, "nth": 1 if once else rng.choice((1, 1, 2, 2, 3)),
                "bytes": rng.randrange(sizes[kind.split()[0]] if kind != "timer" else 1),
                # the timer: a random delay after the start (reading the data, the checkpoint) or after one
                # of the next two intervals' iterations (training, evaluating, writing)
                "after_iteration": rng.choice((None, checkpoint + rng.randrange(1, 2 * EVAL_EVERY))),
                "delay": rng.uniform(0.0, 0.15)}
        argv = ["train", "--resume", str(out / "last.pt")] if resume else fresh
        cycle = run_child(argv, args.work / f"cycle{len(cycles):02d}.err", plan)
        cycle.update(resumed=resume, plan=plan)
        if cycle["killed"]:
            kills += 1
            shutil.copytree(out, args.work / "snapshots" / f"{len(cycles):02d}", dirs_exist_ok=True)
        elif cycle["status"] == 0:
            cycles.append(cycle)
            break  # the run ended before this kill: the test says so (too few kills)
        cycles.append(cycle)
    while not (cycles and cycles[-1]["status"] == 0):  # continue to the end
        cycle = run_child(["train", "--resume", str(out / "last.pt")], args.work / f"cycle{len(cycles):02d}.err", None)
        cycle.update(resumed=True, plan=None)
        cycles.append(cycle)
        if cycle["status"] != 0:
            break
    (args.work / "report.json").write_text(json.dumps({"kills": kills, "cycles": cycles, "reference": reference,
                                                       "iterations": ITERATIONS,
                                                       "eval_every": EVAL_EVERY, "log_every": LOG_EVERY}, indent=1))
    return 0


def _iteration_of(checkpoint: Path) -> int:
    """The iteration of a checkpoint, 0 without one."""
    from ptal.train import load_checkpoint

    return load_checkpoint(checkpoint)["iteration"] if checkpoint.exists() else 0


def run_child(argv: list[str], stderr_path: Path, plan: dict | None) -> dict:
    """Fork a child running ``ptal.cli.main(argv)`` under ``plan``; wait for it (killing it after the plan's
    delay when the plan is a timer). Returns what happened."""
    progress_read, progress_write = os.pipe()

    def prepare() -> None:
        os.close(progress_read)
        _observe_iterations(progress_write)
        if plan is not None and plan["kind"] != "timer":
            _arm_trap(plan, Path(argv[argv.index("--resume") + 1]).parent if "--resume" in argv
                      else Path(argv[-1].split("=", 1)[1]))

    started = time.monotonic()
    pid = fork_ptal(argv, stderr_path, prepare)
    os.close(progress_write)
    iterations: list[int] = []
    wait_status = _kill_on_time(pid, plan, progress_read, iterations) if plan and plan["kind"] == "timer" else None
    if wait_status is None:
        _, wait_status = os.waitpid(pid, 0)
    iterations += _read_iterations(progress_read)
    os.close(progress_read)
    killed = os.WIFSIGNALED(wait_status) and os.WTERMSIG(wait_status) == signal.SIGKILL
    return {"argv": argv, "killed": killed, "status": os.waitstatus_to_exitcode(wait_status),
            "first_iteration": iterations[0] if iterations else None,
            "last_iteration": iterations[-1] if iterations else None,
            "seconds": time.monotonic() - started, "stderr": Path(stderr_path).read_text()}


def _observe_iterations(descriptor: int) -> None:
    """Report every completed iteration on ``descriptor`` (the trainer adds each to its loss window)."""
    from ptal.train import loop

    add = loop._LossWindow.add

    def observed(self, iteration, *args, **kwargs):
        add(self, iteration, *args, **kwargs)
        os.write(descriptor, iteration.to_bytes(4, "little"))

    loop._LossWindow.add = observed


def _kill_on_time(pid: int, plan: dict, progress: int, iterations: list[int]) -> int | None:
    """SIGKILL ``pid`` ``plan["delay"]`` seconds after it started or, given ``plan["after_iteration"]``,
    after it reported that iteration; its wait status if it ended first, else None."""
    os.set_blocking(progress, False)
    deadline = None if plan["after_iteration"] is not None else time.monotonic() + plan["delay"]
    while deadline is None or time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        try:
            iterations += _read_iterations(progress)
        except BlockingIOError:
            pass
        if deadline is None and iterations and iterations[-1] >= plan["after_iteration"]:
            deadline = time.monotonic() + plan["delay"]
        time.sleep(0.001)
    os.kill(pid, signal.SIGKILL)
    os.set_blocking(progress, True)
    return None


def _read_iterations(descriptor: int) -> list[int]:
    """The iterations reported on ``descriptor`` up to its end (or, non-blocking, up to now)."""
    data = b""
    while chunk := os.read(descriptor, 4096):
        data += chunk
        if len(data) % 4 == 0 and not os.get_blocking(descriptor):
            break
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm_trap(plan: dict, out_dir: Path) -> None:
    """SIGKILL this process at the plan's point of its ``nth`` write of that kind into ``out_dir`` (for a
    number of bytes: in the first file from the ``nth`` on that is longer)."""
    out_dir = str(out_dir.resolve())
    kind, counts = plan["kind"], {"n": 0}

    def due(or_later: bool = False) -> bool:
        counts["n"] += 1
        return counts["n"] == plan["nth"] or (or_later and counts["n"] > plan["nth"])

    def target(path: str) -> str | None:
        """``checkpoint`` or ``log`` for the files of the run folder (their temporaries included)."""
        path = os.path.realpath(path)
        if os.path.dirname(path) != out_dir:
            return None
        name = os.path.basename(path)
        if name in ("last.pt", "best.pt") or name.startswith((".last.pt.", ".best.pt.")):
            return "checkpoint"
        if name == "log.jsonl" or name.startswith(".log.jsonl."):
            return "log"
        return None

    def fd_target(descriptor: int) -> str | None:
        return target(os.readlink(f"/proc/self/fd/{descriptor}"))

    if kind in ("checkpoint bytes", "log rewrite bytes"):
        wanted = kind.split()[0]
        fdopen = os.fdopen

        def trapped_fdopen(descriptor, *args, **kwargs):
            file = fdopen(descriptor, *args, **kwargs)
            if fd_target(descriptor) == wanted and due(or_later=True):  # the first file longer than the budget
                return _KillingFile(file, plan["bytes"])
            return file

        os.fdopen = trapped_fdopen
    elif kind == "checkpoint before fsync":
        fsync = os.fsync

        def trapped_fsync(descriptor):
            if fd_target(descriptor) == "checkpoint" and due():
                _die()
            return fsync(descriptor)

        os.fsync = trapped_fsync
    elif kind in ("checkpoint before rename", "checkpoint after rename"):
        replace = os.replace

        def trapped_replace(source, destination, *args, **kwargs):
            hit = target(os.fspath(destination)) == "checkpoint" and due()
            if hit and kind.endswith("before rename"):
                _die()
            replace(source, destination, *args, **kwargs)
            if hit:
                _die()

        os.replace = trapped_replace
    else:  # the log's appends
        write = os.write

        def trapped_write(descriptor, data):
            if fd_target(descriptor) == "log" and due():
                if kind.startswith("log halfway"):
                    write(descriptor, data[:len(data) // 2])
                _die()
            return write(descriptor, data)

        os.write = trapped_write


class _KillingFile(WrappedFile):
    """A file that writes ``budget`` bytes, then SIGKILLs its process in the middle of the write."""

    def __init__(self, file, budget: int):
        super().__init__(file)
        self._budget = budget

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > self._budget:
            self._file.write(data[:self._budget])
            self._file.flush()
            _die()
        self._budget -= len(data)
        return self._file.write(data)


if __name__ == "__main__":
    sys.exit(main())
