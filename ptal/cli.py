"""The ``ptal`` command line. Each command lives in a module with ``add_parser(subparsers)``, which
registers its arguments and sets ``func`` (args -> exit code)."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

COMMAND_MODULES = ("ptal.cli", "ptal.data.command", "ptal.eval.command", "ptal.models.command")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="what was built and what can run here")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(func=_info)


def _info(args) -> int:
    from ptal_core import info

    report = info()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    cpu, cuda, triton = report["cpu_module"], report["cuda_module"], report["triton"]
    yes_no = {True: "yes", False: "no"}
    print(f"ptal           {report['ptal']}")
    print(f"torch          {report['torch']} (CUDA {report['torch_cuda'] or 'none'})")
    print(f"C++ CPU module {'built' if cpu['built'] else 'MISSING'}; OpenMP {yes_no[cpu['openmp']]}, "
          f"{cpu['threads']} threads")
    if cuda["built"]:
        print(f"CUDA module    built for sm_{', sm_'.join(cuda['architectures'])}; "
              f"usable here: {yes_no[cuda['usable']]}")
    else:
        print("CUDA module    not built (reinstall with nvcc on PATH to build it)")
    if triton["installed"]:
        mode = " (interpreter, TRITON_INTERPRET=1)" if triton["interpreter"] else ""
        print(f"Triton         {triton['version']}; usable here: {yes_no[triton['usable']]}{mode}")
    else:
        print("Triton         not installed (pip install 'ptal[triton]')")
    print(f"GPU            {report['gpu'] or 'none'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptal", description="Point-supervised temporal action localization.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
