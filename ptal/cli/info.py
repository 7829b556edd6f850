"""``ptal info``: what was built and what can run here."""
from __future__ import annotations

import json


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
    if cpu["built"]:
        print(f"C++ CPU module built; OpenMP {yes_no[cpu['openmp']]}, {cpu['threads']} threads")
    else:
        print(f"C++ CPU module MISSING: {cpu['missing_because']}")
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
