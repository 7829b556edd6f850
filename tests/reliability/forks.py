"""Real ``ptal`` commands in processes forked from a warm one (a fork server): each costs its own work, not a
Python start (about a second of imports and first-call initialisation on a 2-core machine).

A driver sets ``OMP_NUM_THREADS=1`` before torch is imported, runs one command itself (which imports and
initialises what every run touches; with one thread no thread pool exists to be inherited by a fork), then
forks the others with :func:`fork_ptal`."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path


def run_ptal_here(argv: list[str], output: Path) -> int:
    """``ptal.cli.main(argv)`` in this process, its stdout and stderr into ``output``."""
    from ptal.cli import main

    with open(output, "w") as file, contextlib.redirect_stderr(file), contextlib.redirect_stdout(file):
        return main(argv)


def fork_ptal(argv: list[str], stderr_path: Path, prepare: Callable[[], None] | None = None) -> int:
    """Fork a process that calls ``prepare()`` then exits with ``ptal.cli.main(argv)``'s status, its stdout
    discarded and its stderr into ``stderr_path`` (created before the fork: it exists even if the child is
    killed at once). Returns the child's pid."""
    stderr_path.write_text("")
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        with open(stderr_path, "a") as stderr, open(os.devnull, "w") as null:
            os.dup2(stderr.fileno(), 2)
            os.dup2(null.fileno(), 1)
            if prepare is not None:
                prepare()
            from ptal.cli import main

            status = main(argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
