"""The run folder's lock (ptal.train.lock), in one process: another open file description stands for
another process (flock locks belong to those). tests/reliability/test_concurrent_runs.py races real runs."""
import fcntl
import json
import os

import pytest

from ptal.train.lock import LOCK_NAME, RunFolderInUse, run_lock


def test_held_for_the_block_then_removed(tmp_path):
    with run_lock(tmp_path / "run"):
        record = json.loads((tmp_path / "run" / LOCK_NAME).read_text())
        assert record["pid"] == os.getpid() and {"host", "started", "command"} <= record.keys()
        with run_lock(tmp_path / "run"):  # re-entrant in one process (the command line, then train())
            pass
        assert (tmp_path / "run" / LOCK_NAME).exists()
    assert not (tmp_path / "run" / LOCK_NAME).exists()


def test_a_folder_in_use_is_refused_at_once_naming_the_holder(tmp_path):
    path = tmp_path / LOCK_NAME
    path.write_text(json.dumps({"pid": 4242, "host": "gpu7", "started": "2026-12-07T10:00:00+00:00"}))
    holder = os.open(path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(RunFolderInUse, match=f"train.out_dir {tmp_path} is in use by another run \\(process "
                                                 f"4242 on gpu7, started 2026-12-07T10:00:00\\+00:00; its lock: "):
            with run_lock(tmp_path):
                pytest.fail("entered")
    finally:
        os.close(holder)
    assert json.loads(path.read_text())["pid"] == 4242  # the holder's lock is untouched


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 4242, "host": "gpu7", "started": "yesterday"}))
    with pytest.warns(UserWarning, match="taking over the lock of a run that stopped without releasing it "
                                         "\\(process 4242 on gpu7, started yesterday\\)"):
        with run_lock(tmp_path):
            assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_lock_that_cannot_be_written_names_its_file(tmp_path, monkeypatch):
    def full(descriptor, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as error:
        with run_lock(tmp_path):
            pytest.fail("entered")
    assert error.value.filename == str(tmp_path / LOCK_NAME) and error.value.strerror == "No space left on device"
