"""Two ``ptal train`` runs started at the same moment into one folder: exactly one proceeds, the other is
refused at once with a one-line error, every time (10 trials); a run killed while holding the folder's lock
leaves it stale, and the next run takes it over with a warning. The trials run in
tests/reliability/lock_race.py (a fork server), about 5 s in all on a 2-core machine."""
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.limits import HANG_GUARD_S
from tests.reliability.mini import write_mini_thumos14

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 10


def test_two_runs_into_one_folder_one_proceeds_the_other_is_refused(tmp_path):
    annotations = write_mini_thumos14(tmp_path / "annotations")
    done = subprocess.run([sys.executable, "-m", "tests.reliability.lock_race", str(annotations), str(tmp_path),
                           "--trials", str(TRIALS), "--stale", "2"], cwd=ROOT, capture_output=True, text=True,
                          timeout=HANG_GUARD_S, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["races"]) == TRIALS
    for trial, race in enumerate(report["races"]):
        assert not race["both_past_the_lock"], trial
        statuses = sorted(child["status"] for child in race["children"])
        assert statuses == [0, 2], (trial, race)
        refused = next(child for child in race["children"] if child["status"] == 2)
        winner = race["pids"][[child["status"] for child in race["children"]].index(0)]
        folder = tmp_path / f"race{trial}" / "run"
        lines = refused["stderr"].splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"ptal train: error: train.out_dir {folder} is in use by "
                                                       f"another run ("), (trial, lines)
        assert f"its lock: {folder / 'ptal.lock'}): wait for it to end, or choose another train.out_dir" in lines[0]
        assert f"process {winner} on " in lines[0] or "(a run that had just started;" in lines[0]
        assert sorted(p.name for p in folder.iterdir()) == ["best.pt", "last.pt", "log.jsonl"], trial  # lock gone
    for trial, stale in enumerate(report["stale"]):
        assert stale["reached_the_lock"] and json.loads(stale["lock_left"])["pid"] == stale["killed_pid"]
        assert stale["next_status"] == 0
        assert (f"ptal train: warning: {tmp_path / f'stale{trial}' / 'run' / 'ptal.lock'}: taking over the lock of a run "
                f"that stopped without releasing it (process {stale['killed_pid']} on ") in stale["next_stderr"]
        assert not (tmp_path / f"stale{trial}" / "run" / "ptal.lock").exists()
