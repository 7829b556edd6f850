"""Files that appear whole or not at all: every file ptal writes goes through here.

A write that fails (a full disk, a file-size limit, a read-only folder) raises ``OSError`` naming the file
being written, whatever library did the writing (``torch.save`` reports a failed write as a
``RuntimeError``: it is turned back into the ``OSError`` behind it), and leaves the previous file as it was.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
from os import PathLike
from pathlib import Path

# The temporary files of atomic_file: ".<name>.<12 hex digits>.tmp", beside the file they become.
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")


@contextlib.contextmanager
def atomic_file(path: str | PathLike):
    """Open ``path`` for binary writing so that it appears whole or not at all: the content goes to a
    temporary file in the same directory, which is flushed, fsynced and renamed over ``path`` when the
    block exits without an exception (and removed when it raises). Parent directories are created. The
    file gets the mode of any new file, 0o666 less the umask (``tempfile.mkstemp`` would make it 0o600).

    Raises:
        OSError: the file could not be written (``filename`` is ``path``); ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = _create_temporary(path)
    try:
        with _naming_failed_writes(path, temporary):
            with os.fdopen(descriptor, "wb") as file:
                yield file
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file beside ``path`` with a random name, opened for writing with mode 0o666 (which the
    kernel reduces by the umask): its descriptor and path. An error names ``path``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
        except OSError as error:
            raise OSError(error.errno, error.strerror, os.fspath(path)) from error


@contextlib.contextmanager
def _naming_failed_writes(path: Path, written: Path):
    """Re-raise a failed write inside the block as an ``OSError`` whose ``filename`` is ``path``: an
    ``OSError`` naming no file or ``written`` (the file actually written, e.g. a temporary one), or
    another exception caused by such an ``OSError`` (what ``torch.save`` raises when its file's ``write``
    fails). Errors about other files pass unchanged."""
    try:
        yield
    except Exception as error:
        cause = _os_error_behind(error)
        if cause is None or cause.filename not in (None, os.fspath(written)):
            raise
        raise OSError(cause.errno, cause.strerror or str(cause), os.fspath(path)) from error


def _os_error_behind(error: BaseException) -> OSError | None:
    """``error`` if it is an ``OSError``, else the first ``OSError`` among its causes and contexts."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def remove_stray_temporaries(directory: str | PathLike) -> list[Path]:
    """Delete the temporary files that writes interrupted by a crash (a killed process, a lost machine) left
    in ``directory``, and return their paths. Call it only while no other process writes there (e.g.
    holding the run's lock, :mod:`ptal.train.lock`)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stray = [path for path in directory.iterdir() if _TEMPORARY.fullmatch(path.name) and path.is_file()]
    for path in stray:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return stray


def write_json_atomic(path: str | PathLike, document) -> None:
    """Write ``document`` as JSON (no NaN/inf allowed) to ``path`` through :func:`atomic_file`."""
    text = json.dumps(document, allow_nan=False)
    with atomic_file(path) as file:
        file.write(text.encode("utf-8"))


def append_json_line(path: str | PathLike, record) -> None:
    """Append ``record`` as one line of JSON (no NaN/inf allowed) to ``path``, creating it and its parents.
    The line goes out in a single write on an append-only descriptor, which is then fsynced. A write that
    fails, or stores only part of the line (a full disk), is undone (the file is cut back to its previous
    length) and raises ``OSError`` naming the file. A crash leaves the earlier lines intact and at most a
    partial last line (readers of such logs skip it)."""
    line = (json.dumps(record, allow_nan=False) + "\n").encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _naming_failed_writes(path, path):
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            length = os.fstat(descriptor).st_size
            try:
                written = os.write(descriptor, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                os.fsync(descriptor)
            except OSError:
                os.ftruncate(descriptor, length)
                raise
        finally:
            os.close(descriptor)


def copy_file_atomic(source: str | PathLike, destination: str | PathLike) -> None:
    """Copy ``source`` to ``destination`` through :func:`atomic_file`."""
    with open(source, "rb") as original, atomic_file(destination) as file:
        shutil.copyfileobj(original, file)
