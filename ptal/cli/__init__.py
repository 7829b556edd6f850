"""The ``ptal`` command line. Each command lives in a module of this package with
``add_parser(subparsers)``, which registers its arguments and sets ``func`` (args -> exit code).

A mistake of the user (a bad flag value, a missing or malformed file, an unknown config key, a used run
folder) is printed as one line, ``ptal <command>: error: ...``, with exit status 2; ``--debug`` shows the
traceback instead. Anything else is a bug of ptal and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("ptal.cli.info", "ptal.cli.data", "ptal.cli.eval", "ptal.cli.models")
USAGE_ERROR = 2


class UsageError(ValueError):
    """A command-line mistake: the message says which flag and what to do."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptal", description="Point-supervised temporal action localization.")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of its one-line message (any position)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = build_parser().parse_args([argument for argument in argv if argument != "--debug"])
    try:
        return args.func(args)
    except (ValueError, OSError) as error:  # ConfigError, CheckpointError, UsageError, missing files, ...
        if debug:
            raise
        print(f"ptal {args.command}: error: {_one_line(error)} (--debug shows the traceback)", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"ptal {args.command}: interrupted", file=sys.stderr)
        return 130


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
