"""A full disk under every writer of ptal: the checkpoints, the log (appended and rewritten on resume), the
predictions, the pictures, evaluation results, features, the run's lock. Each gives a one-line error naming
the file and exit status 2, leaves the previous file whole (a checkpoint loadable) and no temporary file;
a resumed run then goes on. The disk is filled by injection at the OS calls (tests/reliability/faults.py),
and once for real: a process whose file-size limit (RLIMIT_FSIZE) is below a checkpoint's size."""
import json
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ptal.cli import main
from ptal.train import load_checkpoint, read_run_log
from tests.limits import HANG_GUARD_S
from tests.reliability.faults import FullDisk
from tests.reliability.mini import mini_overrides, write_mini_thumos14

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def annotations(tmp_path_factory):
    return write_mini_thumos14(tmp_path_factory.mktemp("mini") / "thumos14")


def train_command(annotations, out_dir, iterations=2) -> list[str]:
    return ["train", *mini_overrides("lacp", annotations), f"train.iterations={iterations}", "train.eval_every=2",
            "train.log_every=1", "train.progress=false", f"train.out_dir={out_dir}"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, annotations):
    """A run folder at iteration 2 of 4 (log, last.pt, best.pt)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(train_command(annotations, out)) == 0
    return out


@pytest.fixture
def run(trained, tmp_path):
    """A copy of the trained run folder."""
    return Path(shutil.copytree(trained, tmp_path / "run"))


def resume(run: Path) -> list[str]:
    """Continue the run in ``run`` (a copy: its checkpoints name the original folder) to iteration 4."""
    return ["train", "--resume", str(run / "last.pt"), "train.iterations=4", f"train.out_dir={run}"]


@pytest.fixture
def disk(monkeypatch):
    return FullDisk(monkeypatch)


def full_disk_error(capsys, arguments: list[str], path: Path) -> None:
    """The command fails with exit status 2 and one line naming ``path`` and the full disk (beside warnings and
    the progress bar of the videos written before)."""
    assert main(arguments) == 2
    errors = [line for line in capsys.readouterr().err.split("\n")
              if line and ": warning: " not in line and not line.startswith("\r")]  # \r: the progress bar's line
    assert errors == [f"ptal {arguments[0]}: error: {path}: No space left on device (--debug shows the traceback)"]


def no_temporaries(folder: Path) -> bool:
    return not [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


@pytest.mark.parametrize("room, at_fsync", [(0, False), (5000, False), (0, True)],
                         ids=["first-byte", "midway", "at-fsync"])
def test_checkpoint(run, disk, capsys, room, at_fsync):
    before = (run / "last.pt").read_bytes()
    disk.fill("last.pt", room, at_fsync)
    full_disk_error(capsys, resume(run), run / "last.pt")
    assert disk.failures and (run / "last.pt").read_bytes() == before
    assert load_checkpoint(run / "last.pt")["iteration"] == 2
    assert no_temporaries(run) and not (run / "ptal.lock").exists()
    disk.fill(None)  # space again: the run goes on
    assert main(resume(run)) == 0
    assert load_checkpoint(run / "last.pt")["iteration"] == 4


def test_best_checkpoint(annotations, tmp_path, disk, capsys):
    out = tmp_path / "run"
    disk.fill("best.pt")  # the first evaluation is the best so far: last.pt, then its copy best.pt
    full_disk_error(capsys, train_command(annotations, out), out / "best.pt")
    assert load_checkpoint(out / "last.pt")["iteration"] == 2 and not (out / "best.pt").exists()
    disk.fill(None)
    assert main(["train", "--resume", str(out / "last.pt")]) == 0  # complete: nothing to do
    assert main(["train", "--resume", str(out / "last.pt"), "train.iterations=4"]) == 0
    assert load_checkpoint(out / "best.pt")["iteration"] in (2, 4) and no_temporaries(out)


def test_log_append(annotations, trained, tmp_path, disk, capsys):
    out = tmp_path / "run"
    first_line = len((trained / "log.jsonl").read_text().splitlines()[0]) + 1
    disk.fill("log.jsonl", room=first_line + 40)  # the first line fits, the second is cut short by the disk
    full_disk_error(capsys, train_command(annotations, out), out / "log.jsonl")
    text = (out / "log.jsonl").read_text()
    assert text.endswith("\n") and [record["iteration"] for record in read_run_log(out / "log.jsonl")] == [1]
    assert not (out / "last.pt").exists() and disk.failures == 1
    disk.fill(None)  # the same command starts the run again
    assert main(train_command(annotations, out)) == 0
    assert [record["iteration"] for record in read_run_log(out / "log.jsonl")] == [1, 2]


def test_log_rewritten_on_resume(run, disk, capsys):
    before = (run / "log.jsonl").read_bytes()
    disk.fill("log.jsonl")
    full_disk_error(capsys, resume(run), run / "log.jsonl")
    assert (run / "log.jsonl").read_bytes() == before and no_temporaries(run)
    assert load_checkpoint(run / "last.pt")["iteration"] == 2


def test_predictions(run, disk, capsys):
    out = run / "predictions.json"
    out.write_text('{"results": {}}')
    disk.fill("predictions.json", room=100)
    full_disk_error(capsys, ["infer", "--checkpoint", str(run / "best.pt"), "--out", str(out)], out)
    assert json.loads(out.read_text()) == {"results": {}} and no_temporaries(run)


def test_picture(run, disk, capsys, annotations):
    video = (annotations / "split_test.txt").read_text().split()[0]
    disk.fill("timeline.png", room=1000)
    full_disk_error(capsys, ["infer", "--checkpoint", str(run / "best.pt"), "--video", video,
                             "--plot", str(run / "timeline.png")], run / "timeline.png")
    assert not (run / "timeline.png").exists() and no_temporaries(run)


def test_evaluation_result(annotations, tmp_path, disk, capsys):
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps({"results": {}}))
    disk.fill("result.json")
    full_disk_error(capsys, ["eval", "--gt", str(annotations / "gt.json"), "--pred", str(predictions), "--subset", "test", "--out",
                             str(tmp_path / "result.json")], tmp_path / "result.json")
    assert not (tmp_path / "result.json").exists() and no_temporaries(tmp_path)


def test_features(annotations, tmp_path, disk, capsys):
    video = (annotations / "split_test.txt").read_text().split()[0]
    disk.fill(f"{video}.npy", room=64)
    path = tmp_path / "synth" / "features" / "test" / "rgb" / f"{video}.npy"
    full_disk_error(capsys, ["data", "synth", "--annotations", str(annotations), "--d", "4", "--split", "test",
                             "--out", str(tmp_path / "synth")], path)
    assert not path.exists() and no_temporaries(tmp_path / "synth")


def test_lock(annotations, tmp_path, disk, capsys):
    disk.fill("ptal.lock")
    full_disk_error(capsys, train_command(annotations, tmp_path / "run"), tmp_path / "run" / "ptal.lock")


def limit_file_size(limit: int):
    """For a child process: files may not grow beyond ``limit`` bytes (EFBIG, "File too large")."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


def test_a_real_file_size_limit_at_the_checkpoint(run):
    before = (run / "last.pt").read_bytes()
    assert (run / "log.jsonl").stat().st_size < 20_000 < len(before)
    done = subprocess.run([sys.executable, "-m", "ptal", *resume(run)],
                          cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_S,
                          preexec_fn=limit_file_size(20_000))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"ptal train: error: {run / 'last.pt'}: File too large (--debug shows the traceback)" in done.stderr
    assert (run / "last.pt").read_bytes() == before and no_temporaries(run)
