import json
import os
import stat

import pytest

from ptal.data.atomic import atomic_file, write_json_atomic


@pytest.fixture
def umask():
    """``os.umask`` for the test to set; the process's umask is restored afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_of_new_files(tmp_path, umask, mask, expected):
    umask(mask)
    with atomic_file(tmp_path / "predictions.json") as file:
        file.write(b"{}")
    write_json_atomic(tmp_path / "run" / "metrics.json", {"map": 0.5})
    assert mode(tmp_path / "predictions.json") == expected
    assert mode(tmp_path / "run" / "metrics.json") == expected
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"map": 0.5}


def test_replacing_a_file_gives_it_the_mode_of_new_files(tmp_path, umask):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"old")
    path.chmod(0o600)
    umask(0o022)
    with atomic_file(path) as file:
        file.write(b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary left behind
