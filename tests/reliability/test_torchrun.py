"""One voice under torchrun: with 2 Gloo processes, only process 0 prints (one summary), draws progress bars
and writes files (process 1 runs with every write failing and does not notice); a failure in either process
stops both with that process's one-line error, under torchrun (its agent stops the others) and without it
(the other process sees its connection lost and stops by itself: no hang). The commands run
tests/reliability/rank_fault.py, ptal's command line with a fault injected into one process."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ptal.train import load_checkpoint
from tests.limits import HANG_GUARD_S
from tests.reliability.mini import mini_overrides, write_mini_thumos14
from tests.train.test_distributed import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "tests" / "reliability" / "rank_fault.py")
DATA_ERROR = "features/train/rgb/video_validation_0000854.npy: non-finite value in row 7"


@pytest.fixture(scope="module")
def annotations(tmp_path_factory):
    return write_mini_thumos14(tmp_path_factory.mktemp("mini") / "thumos14")


def train_arguments(annotations, out_dir, progress: bool = False) -> list[str]:
    return ["train", *mini_overrides("lacp", annotations), "train.iterations=4", "train.eval_every=2",
            f"train.progress={str(progress).lower()}", f"train.out_dir={out_dir}"]


def environment(**changes) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **changes}


def torchrun(tmp_path: Path, arguments: list[str], **fault) -> tuple[int, list[dict]]:
    """Exit status of torchrun and each process's stdout and stderr (its log files)."""
    logs = tmp_path / "logs"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "--log-dir", str(logs), "--redirects", "3", SCRIPT, *arguments],
                          cwd=tmp_path, capture_output=True, text=True, timeout=HANG_GUARD_S, env=environment(**fault))
    attempt = next(logs.glob("*/attempt_0"))
    return done.returncode, [{stream: without_warnings((attempt / str(rank) / f"{stream}.log").read_text())
                              for stream in ("stdout", "stderr")} for rank in range(2)]


def without_torchrun(tmp_path: Path, arguments: list[str], **fault) -> list[dict]:
    """Both processes started directly (rank 0 hosts the rendezvous): nothing stops one when the other fails."""
    port = str(free_port())
    processes = [subprocess.Popen([sys.executable, SCRIPT, *arguments], cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  env=environment(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                                                  MASTER_ADDR="127.0.0.1", MASTER_PORT=port, **fault))
                 for rank in range(2)]
    outputs = [process.communicate(timeout=HANG_GUARD_S) for process in processes]
    return [{"status": process.returncode, "stdout": out, "stderr": without_warnings(err)}
            for process, (out, err) in zip(processes, outputs)]


def without_warnings(text: str) -> str:
    """(The mini data set's evaluation warns that most classes have no instance.)"""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("ptal train: warning: "))


def error_line(rank: int, message: str) -> str:
    return f"ptal train: error: process {rank} of 2: {message} (--debug shows the traceback)\n"


def test_only_process_0_prints_draws_and_writes(tmp_path, annotations):
    status, ranks = torchrun(tmp_path, train_arguments(annotations, tmp_path / "run", progress=True),
                             PTAL_FAULT_RANK="1", PTAL_FAULT="no-writes")
    assert status == 0, ranks
    assert ranks[1] == {"stdout": "", "stderr": ""}
    summary = ranks[0]["stdout"].splitlines()
    assert len(summary) == 1 and summary[0].startswith("trained 4 iterations in ")
    assert "train: 100%" in ranks[0]["stderr"] and "Traceback" not in ranks[0]["stderr"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best.pt", "last.pt", "log.jsonl"]
    assert len(load_checkpoint(tmp_path / "run" / "last.pt")["rng"]) == 2


def test_a_failure_in_process_1_stops_both_under_torchrun(tmp_path, annotations):
    status, ranks = torchrun(tmp_path, train_arguments(annotations, tmp_path / "run"),
                             PTAL_FAULT_RANK="1", PTAL_FAULT="data")
    assert status != 0
    assert ranks[1]["stderr"] == error_line(1, DATA_ERROR) and ranks[1]["stdout"] == ""
    assert "Traceback" not in ranks[0]["stderr"] and len(ranks[0]["stderr"].splitlines()) <= 1


@pytest.mark.parametrize("failing, fault, message", [
    (1, "data", DATA_ERROR),
    (0, "disk", "{run}/last.pt: No space left on device"),
])
def test_a_failure_stops_the_other_process_without_torchrun(tmp_path, annotations, failing, fault, message):
    ranks = without_torchrun(tmp_path, train_arguments(annotations, tmp_path / "run"),
                             PTAL_FAULT_RANK=str(failing), PTAL_FAULT=fault)
    assert [rank["status"] for rank in ranks] == [2, 2]
    assert ranks[failing]["stderr"] == error_line(failing, message.format(run=tmp_path / "run"))
    other = ranks[1 - failing]["stderr"]
    if failing == 1:  # process 0 reads the failure from the rendezvous it hosts: silent
        assert other == ""
    else:  # process 1 lost the rendezvous with process 0: says so, in one line
        assert len(other.splitlines()) == 1 and other.startswith(
            "ptal train: error: process 1 of 2: stopped: the connection to another process of the run was lost")
    assert all(rank["stdout"] == "" for rank in ranks)
    if fault == "disk":  # the first checkpoint: none, and no half-written file
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["log.jsonl"]
