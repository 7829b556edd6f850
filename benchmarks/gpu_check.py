"""Every CUDA and Triton kernel run, checked and measured on a GPU, by one command (issue 14).

    python3 benchmarks/gpu_check.py --out DIR             # on the GPU machine (no network): about 7 minutes
    python3 benchmarks/gpu_check.py --out DIR --dry-run   # anywhere: the same stages on the CPU, in ~40 s

Stages, each with its own time limit, all inside 8 minutes; a stage that fails or runs out of time is
recorded and the next one still runs. The limits are the GPU machine's budget: the dry run enforces none
(and no timeout on its helper commands), so that it passes or fails on what it checks, not on how fast the
machine running it is.

1. probe: nvidia-smi (driver >= 580 for CUDA 13), Python and the versions of torch, Triton, CuPy,
   torchvision and numba, which build and test tools are importable or on PATH.
2. install: the packages the probe found missing, from the carried wheel folder (``--wheels``, made by
   benchmarks/gpu_wheels.sh; ``pip --no-index``), then ptal from this working tree (editable,
   ``--no-build-isolation --no-deps``, so the machine's torch stays; CUDA module required, sm_90 only).
   The dry run prints these commands instead of running them.
3. gpu tests: ``pytest -m gpu``: every test of a CUDA or Triton backend (Triton compiled, not interpreted) and
   the GPU-only checks (launches at the grid limits, the torchvision ``batched_nms`` equivalence, the
   sync-free training steps, the CUDA kernels against the CPU harness's recorded results). The rest of the
   suite runs the CPU kernels, which the CPU machines test.
4. cpu sanity: a quick subset of CPU tests (backend choice, registered ops), that the install works there.
5. benchmarks: ``benchmarks/test_bench_gpu.py`` (pytest-benchmark): each GPU goal of the issue, ptal beside
   its anchor in one run, and the methods' pseudo-label refreshes at ActivityNet 1.3's scale.
6. report: ``gpu.json`` (device, date, versions, tests passed/failed/skipped, per benchmark ptal ms, anchor
   ms, ratio, GB/s where bandwidth-bound) and ``gpu.md`` (the same as Markdown tables), in ``--out``.

The dry run (tested in tests/test_gpu_check.py) runs the same stages with the CPU kernels, Triton interpreted,
a few tests and tiny benchmark sizes.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOTAL_SECONDS = 480  # the whole run, as the issue asks: a failure leaves time to fix and rerun
MIN_DRIVER = 580  # CUDA 13
H200_BANDWIDTH_GBS = 4800  # the vendor's figure; KINDS.md measured ~4 300 GB/s for a device-to-device copy

# Python modules the run needs (pip name -> module name) and tools it needs on PATH or as Python packages.
MODULES = {"scikit-build-core": "scikit_build_core", "pybind11": "pybind11", "hypothesis": "hypothesis",
           "pytest": "pytest", "pytest-benchmark": "pytest_benchmark", "orjson": "orjson", "pyyaml": "yaml",
           "tqdm": "tqdm", "matplotlib": "matplotlib", "numba": "numba", "numpy": "numpy",
           "pytest-xdist": "xdist"}  # xdist: the GPU tests in parallel processes (a compile-bound stage)
TOOLS = ("cmake", "ninja", "nvcc")
VERSIONS = ("torch", "triton", "cupy", "torchvision", "numba", "numpy")

GPU_TESTS = ["tests", "-m", "gpu"]
SANITY_TESTS = ["tests/test_backends.py", "tests/ops/test_registered_ops.py", "-m", "not gpu and not cuda_on_cpu"]
# The dry run's few tests: one op's Triton backend (interpreted) and the backend tables.
DRY_GPU_TESTS = ["tests/ops/test_segment_iou.py", "-m", "gpu"]
DRY_SANITY_TESTS = ["tests/test_backends.py", "-m", "not gpu"]


@dataclass
class Stage:
    name: str
    seconds: int  # its own limit (also bounded by what is left of TOTAL_SECONDS)
    status: str = "not run"  # passed | failed | timed out | skipped
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


class Run:
    """One check: the output folder, the log, the deadline, the stages and what they found."""

    def __init__(self, out: Path, dry_run: bool, wheels: Path):
        self.out, self.dry_run, self.wheels = out, dry_run, wheels
        self.out.mkdir(parents=True, exist_ok=True)
        self.log_file = open(self.out / "gpu.log", "w")
        self.started = time.monotonic()
        self.deadline = self.started + TOTAL_SECONDS
        self.enforce_limits = not dry_run
        self.stages: list[Stage] = []
        self.report: dict = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                             "dry_run": dry_run, "command": " ".join([Path(sys.executable).name, *sys.argv])}
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        if dry_run:
            self.env.update(TRITON_INTERPRET="1", PTAL_BENCH_SCALE="tiny")
        else:
            self.env.pop("TRITON_INTERPRET", None)  # Triton compiled on the GPU
            self.env["PTAL_BENCH_SCALE"] = "full"

    def log(self, text: str) -> None:
        print(text, flush=True)
        self.log_file.write(text + "\n")
        self.log_file.flush()

    def left(self) -> float:
        """Seconds left of the run's budget (unbounded in the dry run)."""
        return self.deadline - time.monotonic() if self.enforce_limits else math.inf

    def timeout(self, seconds: float) -> float | None:
        """``seconds`` as the timeout of a helper command on the GPU machine; None (no limit) in the dry run."""
        return seconds if self.enforce_limits else None

    def command(self, stage: Stage, argv: list[str], *, limit: float | None = None) -> subprocess.CompletedProcess | None:
        """Run ``argv`` from the repository root within the stage's time left, its output into the log; on
        time out, interrupt it (pytest then still writes its reports) and kill it 20 s later. The dry run waits
        for it however long it takes."""
        limit = min(limit or stage.seconds, self.left()) if self.enforce_limits else None
        self.log(f"$ {' '.join(argv)}   [limit {'none (dry run)' if limit is None else f'{limit:.0f} s'}]")
        if limit is not None and limit <= 5:
            stage.notes.append(f"no time left for: {' '.join(argv[:4])}")
            stage.status = "timed out"
            return None
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            stage.status = "timed out"
            stage.notes.append(f"stopped after {limit:.0f} s: {' '.join(argv[:4])}")
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.log_file.flush()
        return subprocess.CompletedProcess(argv, process.returncode)

    def stage(self, name: str, seconds: int, function) -> None:
        stage = Stage(name, seconds)
        self.stages.append(stage)
        budget = f"limit {seconds} s, {self.left():.0f} s left of the run" if self.enforce_limits else \
            f"limit {seconds} s on the GPU machine, not enforced in the dry run"
        self.log(f"\n=== {name} ({budget})")
        started = time.monotonic()
        try:
            function(stage)
            if stage.status == "not run":
                stage.status = "passed"
        except Exception as error:  # recorded; the next stage still runs
            stage.status = "failed"
            stage.notes.append(f"{type(error).__name__}: {error}")
        stage.elapsed_s = round(time.monotonic() - started, 1)
        self.log(f"=== {name}: {stage.status} in {stage.elapsed_s} s" + "".join(f"\n    {n}" for n in stage.notes))


# ---- stages --------------------------------------------------------------------------------------------------


def probe(run: Run, stage: Stage) -> None:
    found: dict = {"python": platform.python_version(), "executable": sys.executable, "cpus": os.cpu_count()}
    smi = shutil.which("nvidia-smi")
    if smi:
        result = subprocess.run([smi], capture_output=True, text=True, timeout=run.timeout(15))
        run.log(result.stdout + result.stderr)
        query = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                               capture_output=True, text=True, timeout=run.timeout(15))
        fields = [part.strip() for part in query.stdout.splitlines()[0].split(",")] if query.stdout else []
        if len(fields) == 3:
            found["gpu"], found["driver"], found["gpu_memory"] = fields
            if int(fields[1].split(".")[0]) < MIN_DRIVER:
                stage.notes.append(f"driver {fields[1]} < {MIN_DRIVER}: CUDA 13 kernels will not run")
    elif not run.dry_run:
        stage.notes.append("nvidia-smi not found")
    found["versions"] = {name: _version(name, run.timeout(20)) for name in VERSIONS}
    found["missing_modules"] = [pip for pip, module in MODULES.items() if importlib.util.find_spec(module) is None]
    found["tools"] = {tool: shutil.which(tool) for tool in TOOLS}
    found["missing_tools"] = [tool for tool in ("cmake", "ninja") if shutil.which(tool) is None]
    run.report["probe"] = found
    run.log(json.dumps(found, indent=1))
    if not run.dry_run and found["versions"]["torch"] is None:
        raise RuntimeError("torch is not importable by this python")


def _version(module: str, timeout: float | None) -> str | None:
    try:
        return subprocess.run([sys.executable, "-c", f"import {module}; print({module}.__version__)"],
                              capture_output=True, text=True, timeout=timeout).stdout.strip() or None
    except subprocess.TimeoutExpired:
        return None


def install(run: Run, stage: Stage) -> None:
    probed = run.report.get("probe", {})
    missing = probed.get("missing_modules", []) + probed.get("missing_tools", [])
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--no-compile", "--disable-pip-version-check"]
    commands = []
    if missing:
        commands.append([*pip, "--find-links", str(run.wheels), *missing])
    commands.append([*pip, "--no-build-isolation", "--no-deps", "-e", ".",
                     "--config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES=90"])
    run.report["install"] = {"missing": missing, "commands": [" ".join(c) for c in commands]}
    if run.dry_run:
        for command in commands:
            run.log("(dry run, not run) $ " + " ".join(command))
    else:
        if missing and not run.wheels.is_dir():
            raise RuntimeError(f"missing {missing} and no wheel folder {run.wheels} (benchmarks/gpu_wheels.sh makes "
                               "it; name it in the run's carry)")
        run.env.update(PTAL_CUDA="ON", CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 4))
        for command in commands:
            result = run.command(stage, command)
            if result is None or result.returncode != 0:
                raise RuntimeError(f"install failed: {' '.join(command[:8])}")
    info = subprocess.run([sys.executable, "-m", "ptal", "info", "--json"], cwd=ROOT, env=run.env,
                          capture_output=True, text=True, timeout=run.timeout(60))
    run.log(info.stdout + info.stderr)
    run.report["ptal_info"] = json.loads(info.stdout) if info.returncode == 0 else None
    if run.report["ptal_info"] is None:
        raise RuntimeError("`python -m ptal info --json` failed")
    if not run.dry_run and not run.report["ptal_info"]["cuda_module"]["usable"]:
        stage.notes.append("the CUDA module is not usable: the CUDA tests will skip")


def tests(run: Run, stage: Stage, selection: list[str], report_name: str) -> None:
    junit = run.out / f"{report_name}.xml"
    workers = min(8, os.cpu_count() or 1)
    importlib.invalidate_caches()  # xdist may have been installed since the probe
    parallel = ["-n", str(workers)] if importlib.util.find_spec("xdist") and not run.dry_run else []
    run.command(stage, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *parallel,
                        f"--junitxml={junit}", *selection])
    counts = junit_counts(junit)
    run.report.setdefault("tests", {})[report_name] = counts
    if counts is None:
        raise RuntimeError("pytest wrote no report")
    if counts["failed"] or counts["errors"]:
        stage.status = "failed"
        stage.notes += [f"{name}: {message}" for name, message in counts["failures"][:20]]


def junit_counts(path: Path) -> dict | None:
    """passed/failed/errors/skipped and the failures (test id, first line of the message) of a JUnit XML."""
    if not path.exists():
        return None
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        if outcome is None:
            counts["passed"] += 1
        elif outcome.tag == "skipped":
            counts["skipped"] += 1
        else:
            counts["failed" if outcome.tag == "failure" else "errors"] += 1
            counts["failures"].append((name, (outcome.get("message") or "").splitlines()[0][:300]
                                       if outcome.get("message") else ""))
    return counts


def benchmarks(run: Run, stage: Stage) -> None:
    raw = run.out / "benchmarks.json"
    run.command(stage, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
                        "benchmarks/test_bench_gpu.py", f"--benchmark-json={raw}", "--benchmark-columns=median,rounds"])
    if not raw.exists():
        raise RuntimeError("pytest-benchmark wrote no results")
    run.report["benchmarks"] = benchmark_rows(json.loads(raw.read_text()))
    if not run.report["benchmarks"]:
        raise RuntimeError("no benchmark ran")


def benchmark_rows(raw: dict) -> list[dict]:
    """One row per workload from pytest-benchmark's JSON: ptal's and the anchor's medians (ms; for a call that
    did a share ``per_call`` of the workload, scaled to all of it), the ratio anchor / ptal, GB/s (and % of the
    H200's bandwidth) where the workload counted its bytes, and what it counted (``work``)."""
    rows: dict[str, dict] = {}
    for bench in raw.get("benchmarks", []):
        info = bench.get("extra_info", {})
        row = rows.setdefault(info["workload"], {"workload": info["workload"], "goal": info.get("goal"),
                                                 "ptal": None, "ptal_ms": None, "anchor": None, "anchor_ms": None})
        side = info["side"]
        milliseconds = bench["stats"]["median"] * 1e3 / info.get("per_call", 1)
        row[f"{side}_ms"] = _significant(milliseconds)
        row[side] = info.get("what")
        if info.get("work"):
            row["work"] = info["work"]
        if side == "ptal" and info.get("bytes"):
            rate = info["bytes"] / (milliseconds / 1e3) / 1e9
            row["gb_per_s"] = _significant(rate)
            row["bandwidth_percent"] = _significant(100 * rate / H200_BANDWIDTH_GBS)
    for row in rows.values():
        if row["ptal_ms"] and row["anchor_ms"]:
            row["ratio"] = _significant(row["anchor_ms"] / row["ptal_ms"])
    return list(rows.values())


def _significant(value: float) -> float:
    return float(f"{value:.4g}")


def write_report(run: Run) -> None:
    run.report["stages"] = [{"name": s.name, "status": s.status, "elapsed_s": s.elapsed_s, "notes": s.notes}
                            for s in run.stages]
    run.report["elapsed_s"] = round(time.monotonic() - run.started, 1)
    (run.out / "gpu.json").write_text(json.dumps(run.report, indent=1) + "\n")
    (run.out / "gpu.md").write_text(markdown(run.report))
    run.log(markdown(run.report))


def markdown(report: dict) -> str:
    probe_found = report.get("probe", {})
    versions = probe_found.get("versions", {})
    lines = [f"GPU check{' (dry run, CPU)' if report['dry_run'] else ''}, {report['date']}: "
             f"{probe_found.get('gpu', 'no GPU')}, driver {probe_found.get('driver', '-')}, Python "
             f"{probe_found.get('python', '-')}, " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
             "", "| stage | status | s | notes |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {s['status']} | {s['elapsed_s']} | {'; '.join(s['notes'])[:400]} |"
              for s in report["stages"]]
    lines += ["", "| tests | passed | failed | errors | skipped |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {c['passed']} | {c['failed']} | {c['errors']} | {c['skipped']} |"
              for name, c in report.get("tests", {}).items() if c]
    lines += ["", "| workload | ptal | ms | anchor | ms | ratio | GB/s (% of 4.8 TB/s) | goal |",
              "|---|---|---|---|---|---|---|---|"]
    for row in report.get("benchmarks", []):
        rate = f"{row['gb_per_s']} ({row['bandwidth_percent']} %)" if "gb_per_s" in row else ""
        workload = f"{row['workload']} ({row['work']})" if row.get("work") else row["workload"]
        lines.append(f"| {workload} | {row['ptal'] or ''} | {_ms(row['ptal_ms'])} | {row['anchor'] or ''} | "
                     f"{_ms(row['anchor_ms'])} | {row.get('ratio', '')} | {rate} | {row['goal'] or ''} |")
    return "\n".join(lines) + "\n"


def _ms(value) -> str:
    return "" if value is None else f"{value:.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu.json, gpu.md, gpu.log and reports")
    parser.add_argument("--dry-run", action="store_true", help="the same stages on the CPU, tiny sizes")
    parser.add_argument("--wheels", type=Path, default=ROOT / ".gpu-wheels",
                        help="wheels of the missing packages (benchmarks/gpu_wheels.sh)")
    args = parser.parse_args(argv)
    run = Run(args.out, args.dry_run, args.wheels)
    run.stage("probe", 20, lambda stage: probe(run, stage))
    run.stage("install", 150, lambda stage: install(run, stage))
    installed = run.stages[-1].status == "passed"
    if installed:
        run.stage("gpu tests", 170, lambda stage: tests(run, stage, DRY_GPU_TESTS if run.dry_run else GPU_TESTS,
                                                         "gpu_tests"))
        run.stage("cpu sanity", 30, lambda stage: tests(run, stage, DRY_SANITY_TESTS if run.dry_run else SANITY_TESTS,
                                                         "cpu_sanity"))
        run.stage("benchmarks", 180, lambda stage: benchmarks(run, stage))
    write_report(run)
    return 0 if installed and all(s.status == "passed" for s in run.stages) else 1


if __name__ == "__main__":
    sys.exit(main())
