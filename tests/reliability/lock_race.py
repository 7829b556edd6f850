"""Two ``ptal train`` runs started at the same moment into one ``train.out_dir``, again and again; then runs
killed while holding the folder's lock, and a run started after each.

    python -m tests.reliability.lock_race ANNOTATIONS WORK --trials N

A fork server (tests/reliability/forks.py). In a race, both children wait on one pipe that the driver
closes to release them together, then run the same command. A child that gets past the lock (it reaches
``build_method``) says so on a status pipe and waits there until the driver lets it go; so the driver sees,
without relying on timing, either one run past the lock and the other ended (what must happen) or both
past it (a broken lock: reported at once). Each trial's run folder is ``WORK/<trial>/run``. ``WORK/report.json``: per trial, each child's exit status and
stderr, and whether both got past the lock.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported (tests/reliability/forks.py)

from tests.reliability.forks import fork_ptal, run_ptal_here  # noqa: E402


def command(annotations: str, out_dir: Path) -> list[str]:
    from tests.reliability.mini import mini_overrides

    return ["train", *mini_overrides("lacp", annotations), "train.iterations=2", "train.eval_every=2",
            "train.progress=false", f"train.out_dir={out_dir}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("annotations")
    parser.add_argument("work", type=Path)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--stale", type=int, default=2, help="runs killed holding the lock, each then followed")
    args = parser.parse_args(argv)
    run_ptal_here(command(args.annotations, args.work / "warm-up"), args.work / "warm-up.err")
    races = [race(command(args.annotations, args.work / f"race{trial}" / "run"), args.work / f"race{trial}")
             for trial in range(args.trials)]
    stale = [killed_holding_the_lock(command(args.annotations, args.work / f"stale{trial}" / "run"),
                                     args.work / f"stale{trial}") for trial in range(args.stale)]
    (args.work / "report.json").write_text(json.dumps({"races": races, "stale": stale}, indent=1))
    return 0


def race(argv: list[str], work: Path) -> dict:
    """Two runs of ``argv`` released together."""
    work.mkdir(parents=True, exist_ok=True)
    start_read, start_write = os.pipe()
    status_read, status_write = os.pipe()
    go = [os.pipe() for _ in range(2)]
    pids = [fork_ptal(argv, work / f"child{index}.err",
                      lambda index=index: _wait_then_hold(start_read, status_write, go[index][0], index,
                                                          close=(start_write, status_read)))
            for index in range(2)]
    for descriptor in (start_read, status_write, go[0][0], go[1][0]):
        os.close(descriptor)
    os.close(start_write)  # both children start now
    past_lock, statuses = [], {}
    while len(past_lock) + len(statuses) < 2:  # each child gets past the lock or ends
        for index, pid in enumerate(pids):
            if index not in statuses and index not in past_lock:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    statuses[index] = os.waitstatus_to_exitcode(status)
        past_lock += _indices_read(status_read)
        time.sleep(0.001)
    both = len(past_lock) == 2
    for index in past_lock:  # let the run(s) past the lock go on to their end
        os.write(go[index][1], b"g")
    for index, pid in enumerate(pids):
        os.close(go[index][1])
        if index not in statuses:
            statuses[index] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    os.close(status_read)
    return {"both_past_the_lock": both, "pids": pids,
            "children": [{"status": statuses[index], "stderr": (work / f"child{index}.err").read_text()}
                         for index in range(2)]}


def killed_holding_the_lock(argv: list[str], work: Path) -> dict:
    """A run of ``argv`` SIGKILLed once past the lock, then the same command again."""
    work.mkdir(parents=True, exist_ok=True)
    status_read, status_write = os.pipe()
    never = os.pipe()
    pid = fork_ptal(argv, work / "killed.err", lambda: _wait_then_hold(None, status_write, never[0], 0,
                                                                       close=(status_read,)))
    os.close(status_write)
    reached = _indices_read(status_read, blocking=True)  # empty: it ended before the lock
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(status_read)
    lock = (Path(argv[-1].split("=", 1)[1]) / "ptal.lock")
    left = lock.read_text() if lock.exists() else None
    second = os.waitpid(fork_ptal(argv, work / "next.err"), 0)[1]
    return {"killed_pid": pid, "reached_the_lock": bool(reached), "lock_left": left, "next_status": os.waitstatus_to_exitcode(second),
            "next_stderr": (work / "next.err").read_text()}


def _wait_then_hold(start: int | None, status: int, go: int, index: int, close: tuple[int, ...]) -> None:
    """In a child: close the driver's ends of the pipes (``close``), wait for the start (the start pipe's
    end), then make ``build_method`` report this child on the status pipe and wait for the driver's go."""
    for descriptor in close:
        os.close(descriptor)
    if start is not None:
        os.read(start, 1)
    from ptal.models import registry

    build = registry.build_method

    def held(*args, **kwargs):
        os.write(status, bytes([index]))
        os.read(go, 1)
        return build(*args, **kwargs)

    registry.build_method = held
    sys.modules["ptal.models"].build_method = held


def _indices_read(descriptor: int, blocking: bool = False) -> list[int]:
    os.set_blocking(descriptor, blocking)
    try:
        return list(os.read(descriptor, 16))
    except BlockingIOError:
        return []


if __name__ == "__main__":
    sys.exit(main())
