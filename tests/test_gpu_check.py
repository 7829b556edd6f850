"""The GPU check's dry run (benchmarks/gpu_check.py --dry-run): every stage runs on the CPU, so that the
script is tested before a GPU minute is spent on it."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_dry_run_runs_every_stage_and_writes_the_report(tmp_path):
    result = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--out", str(tmp_path), "--dry-run"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
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
    markdown = (tmp_path / "gpu.md").read_text()
    assert "| workload | ptal |" in markdown and "dry run" in markdown
