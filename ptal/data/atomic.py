"""Files that appear whole or not at all: every file ptal writes goes through here."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from os import PathLike
from pathlib import Path


@contextlib.contextmanager
def atomic_file(path: str | PathLike):
    """Open ``path`` for binary writing so that it appears whole or not at all: the content goes to a
    temporary file in the same directory, which is flushed, fsynced and renamed over ``path`` when the
    block exits without an exception (and removed when it raises). Parent directories are created. The
    file gets the mode of any new file, 0o666 less the umask (``tempfile.mkstemp`` would make it 0o600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = _create_temporary(path)
    try:
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
    kernel reduces by the umask): its descriptor and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue


def write_json_atomic(path: str | PathLike, document) -> None:
    """Write ``document`` as JSON (no NaN/inf allowed) to ``path`` through :func:`atomic_file`."""
    text = json.dumps(document, allow_nan=False)
    with atomic_file(path) as file:
        file.write(text.encode("utf-8"))


def append_json_line(path: str | PathLike, record) -> None:
    """Append ``record`` as one line of JSON (no NaN/inf allowed) to ``path``, creating it and its parents.
    The line goes out in a single write on an append-only descriptor, which is then fsynced: a crash leaves
    the earlier lines intact and at most a partial last line (readers of such logs skip it)."""
    line = (json.dumps(record, allow_nan=False) + "\n").encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
