"""The GPU check's dry run (benchmarks/gpu_check.py --dry-run): every stage runs on the CPU, so that the
script is tested before a GPU minute is spent on it."""
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

from tests.limits import HANG_GUARD_S

ROOT = Path(__file__).resolve().parent.parent


def test_dry_run_runs_every_stage_and_writes_the_report(tmp_path):
    """However slow the machine: the dry run enforces no stage limit (the GPU machine's budget)."""
    result = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--out", str(tmp_path), "--dry-run"],
                            cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert [(s["name"], s["status"]) for s in report["stages"]] == [
        ("probe", "passed"), ("install", "passed"), ("gpu tests", "passed"), ("cpu sanity", "passed"),
        ("benchmarks", "passed")]
    assert report["dry_run"] and report["ptal_info"]["cpu_module"]["built"]
    # On the GPU machine: the carried wheels only, no build isolation, the machine's torch kept.
    install = report["install"]["commands"][-1]
    assert "--no-index" in install and "--no-build-isolation" in install and "--no-deps" in install
    for counts in report["tests"].values():
        assert counts["passed"] > 0 and counts["failed"] == counts["errors"] == 0
    rows = {row["workload"]: row for row in report["benchmarks"]}
    assert len(rows) >= 10 and all(row["ptal_ms"] > 0 for row in rows.values())
    assert any("LACP training" in name for name in rows) and any("APN training" in name for name in rows)
    sampled = next(row for name, row in rows.items() if name.startswith("sample_proposal_features forward"))
    assert sampled["anchor_ms"] > 0 and sampled["ratio"] > 0 and "gb_per_s" in sampled
    refreshes = [row for name, row in rows.items() if "ActivityNet 1.3" in name]  # k-medoids at 2 D, the search
    assert len(refreshes) == 3
    assert all(row["anchor_ms"] > 0 and "gb_per_s" in row and row["work"] for row in refreshes)
    markdown = (tmp_path / "gpu.md").read_text()
    assert "| workload | ptal |" in markdown and "dry run" in markdown


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gpu_check", module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_stage_limits_apply_on_the_gpu_machine_only(tmp_path):
    gpu_check = load_gpu_check()
    dry = gpu_check.Run(tmp_path / "dry", dry_run=True, wheels=tmp_path)
    assert dry.left() == math.inf and dry.timeout(15) is None
    gpu = gpu_check.Run(tmp_path / "gpu", dry_run=False, wheels=tmp_path)
    assert 0 < gpu.left() <= gpu_check.TOTAL_SECONDS and gpu.timeout(15) == 15
    stage = gpu_check.Stage("tiny", seconds=5)  # at most 5 s: not even started on the GPU machine
    assert gpu.command(stage, [sys.executable, "-c", "pass"]) is None and stage.status == "timed out"
    stage = gpu_check.Stage("tiny", seconds=5)
    assert dry.command(stage, [sys.executable, "-c", "pass"]).returncode == 0 and stage.status == "not run"


def test_rows_scale_a_share_of_the_workload_and_carry_its_counts():
    gpu_check = load_gpu_check()
    raw = {"benchmarks": [
        {"stats": {"median": 0.5}, "extra_info": {"workload": "w", "side": "ptal", "what": "gpu", "per_call": 1,
                                                   "bytes": 10**9, "work": "1 GB"}},
        {"stats": {"median": 0.2}, "extra_info": {"workload": "w", "side": "anchor", "what": "cpu, a tenth",
                                                   "per_call": 0.1}}]}
    (row,) = gpu_check.benchmark_rows(raw)
    assert row["ptal_ms"] == 500 and row["anchor_ms"] == 2000 and row["ratio"] == 4
    assert row["gb_per_s"] == 2 and row["work"] == "1 GB"
    report = {"dry_run": False, "date": "d", "stages": [], "benchmarks": [row]}
    assert "| w (1 GB) | gpu |" in gpu_check.markdown(report)
