"""The ``ptal`` command line. Each command lives in a module of this package with
``add_parser(subparsers)``, which registers its arguments and sets ``func`` (args -> exit code).

A mistake of the user (a bad flag value, a missing or malformed file, an unknown config key, a used run
folder) and a failure ptal can explain (a full disk, a loss that is not finite, memory exhausted) is printed
as one line, ``ptal <command>: error: ...``, with exit status 2; ``--debug`` shows the traceback instead.
Anything else is a bug of ptal and keeps its traceback. Warnings are one line each,
``ptal <command>: warning: ...``.

Under torchrun only process 0 prints and writes files. A process that fails prints its one-line error
(naming the process) and tells the others, which stop with it: a process that loses the connection to a
failed one exits with status 2, silently when the failure's own line has been printed.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings

COMMAND_MODULES = ("ptal.cli.info", "ptal.cli.data", "ptal.cli.eval", "ptal.cli.models")
USAGE_ERROR = 2
# What ptal reports in one line: mistakes (ValueError: ConfigError, CheckpointError, UsageError, ...; OSError:
# missing files, full disks, a run folder in use), a run that diverged, memory exhausted.
EXPLAINED_ERRORS = (ValueError, OSError, FloatingPointError, MemoryError)


class UsageError(ValueError):
    """A command-line mistake: the message says which flag and what to do."""


def main_process() -> bool:
    """Whether this process writes files and prints: always, except under torchrun, where only process 0 does."""
    return int(os.environ.get("RANK", "0")) == 0


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its errors in one line like the commands' (argparse prints the usage first)."""

    def error(self, message: str):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {' '.join(message.split())} ({self.prog} --help shows the usage)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ptal", description="Point-supervised temporal action localization.")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of its one-line message (any position)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(subparsers)
    parser.commands = subparsers.choices  # command -> its parser, whose errors name the command
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args([argument for argument in argv if argument != "--debug"])
        if unknown:  # e.g. "-1e+16", which argparse takes for an option: the command's error, not the top parser's
            parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as exit:  # --help, or a malformed command line (its error printed)
        return exit.code
    status = _run_command(args, debug)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # A process of a torchrun run ends here. torch's C++ teardown at interpreter exit can abort a process
        # whose run is complete ("terminate called without an active exception", about 1 run in 30 of two
        # Gloo processes, torch 2.13): skipped, the output flushed first.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _run_command(args, debug: bool) -> int:
    """The command's exit status; a user's mistake or an explained failure printed in one line."""
    rank, world_size = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    process = f"process {rank} of {world_size}: " if world_size > 1 else ""
    with warnings.catch_warnings(), _silenced_stdout(not main_process()):
        if main_process():
            warnings.showwarning = lambda message, *_: print(
                f"ptal {args.command}: warning: {_one_line(message)}", file=sys.stderr)
        else:
            warnings.simplefilter("ignore")
        try:
            status = args.func(args)
        except EXPLAINED_ERRORS as error:
            if debug:
                raise
            message = f"ptal {args.command}: error: {process}{_one_line(error)}"
            _report_failure(message)
            print(f"{message} (--debug shows the traceback)", file=sys.stderr)
            return USAGE_ERROR
        except KeyboardInterrupt:
            print(f"ptal {args.command}: {process}interrupted", file=sys.stderr)
            return 130
        except Exception as error:
            if debug or not _stopped_by_another_process(error, f"ptal {args.command}: error: {process}"):
                raise
            return USAGE_ERROR
    _end_distributed()
    return status


def _one_line(error: BaseException | Warning | str) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    if isinstance(error, MemoryError):
        return f"out of memory{f' ({error})' if str(error) else ''}: the data or a setting needs more memory than is free"
    return " ".join(str(error).split()) or type(error).__name__


@contextlib.contextmanager
def _silenced_stdout(silent: bool):
    """Under torchrun, the processes other than 0 print nothing on stdout."""
    if not silent:
        yield
        return
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


def _report_failure(message: str) -> None:
    if "torch.distributed" in sys.modules:  # only a run that imported it can have a process group
        from ptal.train.distributed import report_failure

        report_failure(message)


def _stopped_by_another_process(error: Exception, prefix: str) -> bool:
    """Whether ``error`` is this process losing the connection to another process of a torchrun run that
    failed; if so, says so in one line unless the failed process's own line was printed."""
    if "torch.distributed" not in sys.modules:
        return False
    import torch.distributed as dist

    from ptal.train.distributed import failure_of_another_process

    if not dist.is_initialized() or not isinstance(error, RuntimeError):
        return False
    if failure_of_another_process() is not None:
        return True  # the failed process printed its error
    if isinstance(error, dist.DistError) or "gloo" in str(error) or "NCCL" in str(error):
        print(f"{prefix}stopped: the connection to another process of the run was lost (it failed or was killed; "
              f"{_one_line(error)[:200]})", file=sys.stderr)
        return True
    return False


def _end_distributed() -> None:
    """``ptal.train.end_distributed`` when torch.distributed was imported (commands that never import torch stay
    light)."""
    if "torch.distributed" in sys.modules:
        from ptal.train.distributed import end_distributed

        end_distributed()


if __name__ == "__main__":
    sys.exit(main())
