"""Malformed inputs, generated: every reader of tests/reliability/readers.py gets its valid input with one file
corrupted by Hypothesis (tests/reliability/corrupt.py). Each case must end in a correct result (the reader's
check) or an error that names a file of the input: a ``ValueError``/``OSError`` from a function, exit status 2 and one
line ``ptal <command>: error: ...`` from the command line. Never a traceback (any other exception fails the
test), a hang (a case may take at most HANG_GUARD_CASE_S), or a file written outside the output folder
(commands run with a deep working directory, their writes recorded at the OS calls, the tree compared).

The number of cases per run is printed at the end of the suite ("malformed inputs: N cases").
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptal.cli import main
from tests.reliability.mini import mini_overrides, write_mini_thumos14
from tests.reliability.readers import READERS, Reader

HANG_GUARD_CASE_S = 300  # a case takes milliseconds: only a hang reaches this
EXPLAINED = (ValueError, OSError)
CASES: dict[str, int] = {}
NAMED_ELSEWHERE = (".npy ", ".npy:", "does not exist")  # reader name -> cases run (for the summary line of conftest.py)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The mini THUMOS14 files and a run folder trained on them (``run/last.pt``)."""
    folder = write_mini_thumos14(tmp_path_factory.mktemp("base"))
    assert main(["train", *mini_overrides("lacp", folder), "train.iterations=2", "train.eval_every=2",
                 "train.progress=false", f"train.out_dir={folder / 'run'}"]) == 0
    return folder


@contextlib.contextmanager
def hang_guard(what: str):
    def stop(signum, frame):
        raise AssertionError(f"{what}: still running after {HANG_GUARD_CASE_S} s (a hang)")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_GUARD_CASE_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def recorded_writes(monkeypatch_context):
    """Every path the block creates, writes or renames onto through the OS calls ptal's writers use."""
    written = []
    real_open, real_replace, real_mkdir = os.open, os.replace, os.mkdir

    def recording_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            written.append(os.path.abspath(os.fspath(path)))
        return real_open(path, flags, *args, **kwargs)

    def recording_replace(source, destination, *args, **kwargs):
        written.append(os.path.abspath(os.fspath(destination)))
        return real_replace(source, destination, *args, **kwargs)

    def recording_mkdir(path, *args, **kwargs):
        written.append(os.path.abspath(os.fspath(path)))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch_context.setattr(os, "open", recording_open)
    monkeypatch_context.setattr(os, "replace", recording_replace)
    monkeypatch_context.setattr(os, "mkdir", recording_mkdir)
    yield written


def tree(root: Path) -> set[str]:
    return {str(path) for path in root.rglob("*")}


def run_case(reader: Reader, case: Path, how: str, corrupted: str) -> str:
    """Run one corrupted input; returns the outcome ("accepted" or "refused")."""
    folder, out = case / "in", case / "out"
    out.mkdir()
    # The error may name another file of the input (a corruption of one can show as a mismatch in another), or
    # a file the input points to (a checkpoint's config naming a feature folder that does not exist).
    names = [*(path.name for path in folder.rglob("*") if path.is_file()), Path(corrupted).name,  # (perhaps removed)
             *(reader.names(folder) if reader.names else []), *NAMED_ELSEWHERE]
    what = f"{reader.name}: {corrupted} {how}"
    if not reader.command:
        with hang_guard(what):
            try:
                result = reader.read(folder, out)
            except EXPLAINED as error:
                message = str(error)
                assert any(name and name in message for name in names), f"{what}: the error names no file: {message}"
                return "refused"
        reader.check(folder, result)
        return "accepted"
    before = tree(case.parent)
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, recorded_writes(patch) as written, hang_guard(what), \
            contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        patch.chdir(case / "deep" / "er" / "working" / "directory")  # so that "../" writes stay in view
        try:
            status = reader.read(folder, out)
        except SystemExit as exit:  # argparse's errors
            status = exit.code
    outside = [path for path in written if not Path(path).is_relative_to(out)]
    assert not outside, f"{what}: wrote outside the output folder: {outside}"
    created = [path for path in tree(case.parent) - before if not Path(path).is_relative_to(out)]
    assert not created, f"{what}: created outside the output folder: {created}"
    assert not list(Path("/tmp").glob("ptal-fuzz-absolute*")), what
    lines = stderr.getvalue().splitlines()
    if status == 0:
        assert not [line for line in lines if ": error: " in line or "Traceback" in line], f"{what}: {lines}"
        reader.check(folder, status)
        return "accepted"
    errors = [line for line in lines if ": warning: " not in line and not line.startswith(("\r", "["))]
    assert status == 2, f"{what}: exit status {status}: {errors}"
    assert len(errors) == 1 and errors[0].startswith("ptal ") and ": error: " in errors[0], f"{what}: {errors}"
    assert any(name and name in errors[0] for name in names), f"{what}: the error names no file: {errors[0]}"
    return "refused"


@pytest.mark.parametrize("reader", READERS, ids=[reader.name for reader in READERS])
def test_malformed_input(reader: Reader, base: Path, tmp_path: Path):
    valid = reader.files(base)
    outcomes: list[str] = []

    @settings(max_examples=reader.examples, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
    @given(st.data())
    def case(data):
        corrupted = data.draw(st.sampled_from(sorted(reader.corruptions)), label="file")
        how, content = data.draw(reader.corruptions[corrupted](valid[corrupted]), label="corruption")
        folder = tmp_path / f"case{len(outcomes)}"
        for name, bytes_ in {**valid, corrupted: content}.items():
            (folder / "in" / name).parent.mkdir(parents=True, exist_ok=True)
            if bytes_ is not None:  # None: the corruption removed the file
                (folder / "in" / name).write_bytes(bytes_)
        (folder / "deep" / "er" / "working" / "directory").mkdir(parents=True)
        try:
            outcomes.append(run_case(reader, folder, how, str(folder / "in" / corrupted)))
        finally:
            shutil.rmtree(folder)

    case()
    CASES[reader.name] = len(outcomes)
    assert len(outcomes) >= reader.examples, outcomes


@pytest.mark.parametrize("reader", [reader for reader in READERS if not reader.command],
                         ids=[reader.name for reader in READERS if not reader.command])
def test_the_valid_input_passes_the_check(reader: Reader, base: Path, tmp_path: Path):
    """Each reader's check holds on its input before corruption, so that it can hold an accepted corrupted input
    to the correct result."""
    for name, content in reader.files(base).items():
        (tmp_path / "case" / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "case" / "in" / name).write_bytes(content)
    (tmp_path / "case" / "deep" / "er" / "working" / "directory").mkdir(parents=True)
    assert run_case(reader, tmp_path / "case", "unchanged", str(tmp_path / "case" / "in")) == "accepted"


def one_case(tmp_path: Path, read, command: bool) -> tuple[Reader, Path]:
    case = tmp_path / "case"
    (case / "in").mkdir(parents=True)
    (case / "in" / "input.txt").write_text("x")
    (case / "deep" / "er" / "working" / "directory").mkdir(parents=True)
    return Reader("probe", 1, lambda base: {}, {}, read, command=command), case


def test_the_harness_fails_a_write_outside_the_output_folder(tmp_path):
    from ptal.data.atomic import write_json_atomic

    def escaping(folder, out):
        write_json_atomic(out.parent / "escaped.json", {})
        return 0

    reader, case = one_case(tmp_path, escaping, command=True)
    with pytest.raises(AssertionError, match="wrote outside the output folder"):
        run_case(reader, case, "probe", str(case / "in" / "input.txt"))


def test_the_harness_fails_a_traceback_and_an_error_naming_no_file(tmp_path):
    def crashing(folder, out):
        raise KeyError("video_x")

    reader, case = one_case(tmp_path, crashing, command=False)
    with pytest.raises(KeyError):
        run_case(reader, case, "probe", str(case / "in" / "input.txt"))

    def vague(folder, out):
        raise ValueError("something is wrong")

    reader, case = one_case(tmp_path / "again", vague, command=False)
    with pytest.raises(AssertionError, match="the error names no file"):
        run_case(reader, case, "probe", str(case / "in" / "input.txt"))
