"""A real ``ptal train`` of each model killed with SIGKILL at random moments — inside checkpoint and log writes
included — and continued each time as a user would (``--resume OUT/last.pt``, or the starting command when
there is no last.pt yet): every file is whole after every kill, a resumed run starts from the last complete
checkpoint and loses at most one checkpoint interval, leftovers of the kills (temporaries, the lock) are
cleaned up, and the run ends with the weights, state and log of an uninterrupted run, bit for bit.

The chain runs in tests/reliability/kill_chain.py (a fork server: the runs cost their work, not a Python
start): 11 kills per model, 22 in all, in about 10 s per model on a 2-core machine."""
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ptal.train import TIMING_FIELDS, CheckpointError, load_checkpoint, read_run_log
from tests.limits import HANG_GUARD_S
from tests.reliability.kill_chain import KINDS
from tests.reliability.mini import write_mini_thumos14
from tests.train.test_loop import assert_same_data

ROOT = Path(__file__).resolve().parents[2]
KILLS = 11  # per model


def whole_files(folder: Path) -> dict:
    """What a run folder holds after a kill: the iteration of each checkpoint (None: unreadable), the
    complete log lines, whether the log ends in a cut line, the temporaries."""
    found = {"checkpoints": {}, "log": [], "cut_line": False,
             "temporaries": sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))}
    for name in ("last.pt", "best.pt"):
        if (folder / name).exists():
            try:
                found["checkpoints"][name] = load_checkpoint(folder / name)
            except CheckpointError:
                found["checkpoints"][name] = None
    if (folder / "log.jsonl").exists():
        text = (folder / "log.jsonl").read_text()
        found["log"] = read_run_log(folder / "log.jsonl")  # a malformed line before the last raises
        found["cut_line"] = bool(text) and not text.endswith("\n")
    return found


def without(data: dict, *keys: str) -> dict:
    return {key: value for key, value in data.items() if key not in keys}


@pytest.fixture(scope="module")
def annotations(tmp_path_factory):
    return write_mini_thumos14(tmp_path_factory.mktemp("mini") / "thumos14")


@pytest.mark.parametrize("family", ["lacp", "apn"])
def test_a_run_killed_at_any_moment_resumes_and_ends_as_if_never_killed(tmp_path, annotations, family):
    seed = int(os.environ.get("PTAL_KILL_SEED") or int.from_bytes(secrets.token_bytes(4), "little"))
    done = subprocess.run([sys.executable, "-m", "tests.reliability.kill_chain", family, str(annotations),
                           str(tmp_path), "--kills", str(KILLS), "--seed", str(seed)],
                          cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_S,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    cycles, eval_every = report["cycles"], report["eval_every"]
    where = f"(kill chain seed {seed}: PTAL_KILL_SEED={seed} pytest {__file__} -k {family})"
    assert report["kills"] == KILLS, where
    assert {cycle["plan"]["kind"] for cycle in cycles if cycle["killed"]} == set(KINDS), where

    checkpoint = 0  # the iteration of last.pt before each cycle
    restarts = 0
    cut_line = False  # the log ends in a cut line (until a run rewrites it)
    for number, cycle in enumerate(cycles):
        assert "Traceback" not in cycle["stderr"], (where, cycle)
        if cycle["first_iteration"] is not None:  # it trained: from the last complete checkpoint on
            assert cycle["first_iteration"] == checkpoint + 1, (where, number, cycle)
        if number and cycles[number - 1]["killed"] and cycle["first_iteration"] is not None:  # it got to train
            previous = whole_files(tmp_path / "snapshots" / f"{number - 1:02d}")
            if (tmp_path / "snapshots" / f"{number - 1:02d}" / "ptal.lock").exists():
                assert "taking over the lock of a run that stopped without releasing it" in cycle["stderr"]
            if previous["temporaries"]:
                assert "temporary file(s) of an interrupted write" in cycle["stderr"], (where, number)
            if not cycle["resumed"] and previous["log"]:
                assert "stopped before its first checkpoint (no last.pt); starting it again" in cycle["stderr"]
                restarts += 1
        if not cycle["killed"]:
            assert cycle["status"] == 0 and number == len(cycles) - 1, (where, cycle)
            continue
        after = whole_files(tmp_path / "snapshots" / f"{number:02d}")
        assert None not in after["checkpoints"].values(), (where, number, "a truncated checkpoint")
        cut_line = cycle["plan"]["kind"] == "log halfway through an append" or (cut_line and cycle["first_iteration"] is None)
        assert after["cut_line"] <= cut_line, (where, number)  # only a cut write leaves a cut line
        reached = cycle["last_iteration"] or checkpoint
        last = after["checkpoints"].get("last.pt")
        saved = last["iteration"] if last else 0
        assert saved >= checkpoint and reached - saved <= eval_every, (where, number, reached, saved)
        if "best.pt" in after["checkpoints"]:
            assert after["checkpoints"]["best.pt"]["iteration"] <= saved
        checkpoint = saved
    assert restarts >= 1, where  # killed before its first checkpoint, the same command started it again

    run, reference = tmp_path / "run", tmp_path / "reference"
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "last.pt", "log.jsonl"], where  # no leftovers
    for name in ("last.pt", "best.pt"):
        killed, uninterrupted = load_checkpoint(run / name), load_checkpoint(reference / name)
        for state in (killed, uninterrupted):
            del state["trainer"]["elapsed_s"], state["config"]["train"]["out_dir"]
        assert_same_data(killed, uninterrupted)
    strip = lambda records: [without(record, *TIMING_FIELDS) for record in records]  # noqa: E731
    assert strip(read_run_log(run / "log.jsonl")) == strip(read_run_log(reference / "log.jsonl")), where
