"""A disk that fills up, by injection at the operating-system calls ptal's writers use: the file objects
``os.fdopen`` returns (``atomic_file``: checkpoints, predictions, pictures, features, JSON), ``os.write``
(the log's appends, the lock) and ``os.fsync`` (where a real full disk may first say so)."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest


def no_space() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDisk:
    """Once armed, writes to the files named ``name`` (and their temporaries, ``.name.<hex>.tmp``; ``"*"``:
    every regular file under the current directory written through these calls) store
    ``room`` more bytes, then fail with ENOSPC: a file object's ``write`` raises, ``os.write`` stores what
    fits and returns a short count (as the kernel does), or raises when nothing fits; with ``at_fsync`` the
    writes succeed and ``fsync`` fails."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.name: str | None = None
        self.room = 0
        self.at_fsync = False
        self.failures = 0
        fdopen, write, fsync = os.fdopen, os.write, os.fsync

        def filling_fdopen(descriptor, *args, **kwargs):
            file = fdopen(descriptor, *args, **kwargs)
            return _FillingFile(file, self) if self._targets(descriptor) else file

        def filling_write(descriptor, data):
            if not self._targets(descriptor) or self.at_fsync:
                return write(descriptor, data)
            stored = write(descriptor, bytes(data)[:self.room]) if self.room else 0
            self.room -= stored
            if stored < len(data):
                self.failures += 1
                if not stored:
                    raise no_space()
            return stored

        def filling_fsync(descriptor):
            if self.at_fsync and self._targets(descriptor):
                self.failures += 1
                raise no_space()
            return fsync(descriptor)

        monkeypatch.setattr(os, "fdopen", filling_fdopen)
        monkeypatch.setattr(os, "write", filling_write)
        monkeypatch.setattr(os, "fsync", filling_fsync)

    def fill(self, name: str, room: int = 0, at_fsync: bool = False) -> None:
        """Fill the disk for the files called ``name`` after ``room`` more bytes (at fsync: ``at_fsync``)."""
        self.name, self.room, self.at_fsync = name, room, at_fsync

    def _targets(self, descriptor: int) -> bool:
        if self.name is None:
            return False
        try:
            path = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
            regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
        except OSError:
            return False
        if self.name == "*":
            return regular and path.is_relative_to(Path.cwd())
        return path.name == self.name or (path.name.startswith(f".{self.name}.") and path.name.endswith(".tmp"))


class WrappedFile:
    """A file object standing for ``file``, whose ``write`` a subclass intercepts."""

    def __init__(self, file):
        self._file = file

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *details):
        return self._file.__exit__(*details)


class _FillingFile(WrappedFile):
    def __init__(self, file, disk: FullDisk):
        super().__init__(file)
        self._disk = disk

    def write(self, data) -> int:
        data = bytes(data)
        if self._disk.at_fsync or len(data) <= self._disk.room:
            self._disk.room -= 0 if self._disk.at_fsync else len(data)
            return self._file.write(data)
        self._file.write(data[:self._disk.room])
        self._disk.room = 0
        self._disk.failures += 1
        raise no_space()
