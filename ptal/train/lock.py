"""One run per folder: the lock a training run holds on its ``train.out_dir`` for its whole life.

The lock is ``out_dir/ptal.lock``, held with ``flock`` (an advisory lock the kernel releases when the
process ends, however it ends). The file says who holds it (process id, host, start time, command). A run
that ends normally removes it; one that was killed leaves it behind, unheld: the next run recognises it as
stale (it can take the lock) and takes it over with a warning. A second run started while the first holds
the lock is refused at once (:class:`RunFolderInUse`). Locks are re-entrant within a process, so the
command line can take it before building the data and :func:`ptal.train.train` again inside.
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import socket
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "ptal.lock"


class RunFolderInUse(OSError):
    """Another run holds the lock of the folder."""


@dataclass
class _HeldLock:
    descriptor: int
    path: Path
    holders: int = 1


_held: dict[Path, _HeldLock] = {}  # this process's locks by resolved folder


@contextlib.contextmanager
def run_lock(out_dir: str | os.PathLike):
    """Hold the lock of ``out_dir`` (created if needed) inside the block.

    Raises:
        RunFolderInUse: another process holds it; the message says which and what to do.
        OSError: the lock file cannot be created or written (naming it).
    """
    folder = Path(out_dir).resolve()
    held = _held.get(folder)
    if held is None:
        held = _held[folder] = _acquire(Path(out_dir))
    else:
        held.holders += 1
    try:
        yield
    finally:
        held.holders -= 1
        if held.holders == 0:
            del _held[folder]
            _release(held)


def _acquire(out_dir: Path) -> _HeldLock:
    path = out_dir / LOCK_NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read(descriptor))
            os.close(descriptor)
            raise RunFolderInUse(f"train.out_dir {out_dir} is in use by another run ({holder}; its lock: {path}): "
                                 f"wait for it to end, or choose another train.out_dir") from None
        except BaseException:
            os.close(descriptor)
            raise
        if _same_file(path, descriptor):
            break
        os.close(descriptor)  # the holder removed the file between our open and flock: lock the new one
    try:
        previous = _read(descriptor)
        if previous is not None:
            warnings.warn(f"{path}: taking over the lock of a run that stopped without releasing it "
                          f"({_describe(previous)})", stacklevel=4)
        _write(descriptor, path)
    except BaseException:
        os.close(descriptor)
        raise
    return _HeldLock(descriptor, path)


def _release(held: _HeldLock) -> None:
    try:
        if _same_file(held.path, held.descriptor):
            held.path.unlink()
    finally:
        os.close(held.descriptor)


def _same_file(path: Path, descriptor: int) -> bool:
    try:
        return os.path.samestat(os.stat(path), os.fstat(descriptor))
    except FileNotFoundError:
        return False


def _read(descriptor: int) -> str | None:
    """The lock file's content; None when empty (a lock this process has just created)."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    content = b""
    while chunk := os.read(descriptor, 4096):
        content += chunk
    return content.decode("utf-8", errors="replace") if content else None


def _write(descriptor: int, path: Path) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "command": " ".join(sys.argv)}
    content = (json.dumps(record) + "\n").encode("utf-8")
    try:
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        if os.write(descriptor, content) != len(content):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(descriptor)
    except OSError as error:
        raise OSError(error.errno, error.strerror, os.fspath(path)) from error


def _describe(content: str | None) -> str:
    """Who held a lock, from its content, in words."""
    if content is None:
        return "a run that had just started"
    try:
        record = json.loads(content)
        return f"process {record['pid']} on {record['host']}, started {record['started']}"
    except (ValueError, KeyError, TypeError):
        return "its lock file does not say who"
