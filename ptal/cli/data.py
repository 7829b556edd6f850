"""``ptal data synth``: write the synthetic THUMOS14 benchmark in the LACP release's layout."""
from __future__ import annotations

import sys

from ptal.cli import UsageError


def add_parser(subparsers) -> None:
    data = subparsers.add_parser("data", help="datasets: write the synthetic benchmark")
    commands = data.add_subparsers(dest="data_command", required=True)
    synth = commands.add_parser(
        "synth", help="write synthetic THUMOS14-structured features and the annotations (LACP layout)",
        description="Write out/features/<split>/{rgb,flow}/<video>.npy ((T, D/2) float32 each), the THUMOS14 "
                    "annotation files and out/synthetic.json. About 1.1 GB for both splits at D = 2048.")
    synth.add_argument("--out", required=True, help="output directory")
    synth.add_argument("--d", type=int, default=2048, help="feature dimension D, even (default 2048, as I3D)")
    synth.add_argument("--seed", type=int, default=0, help="benchmark seed (default 0)")
    synth.add_argument("--difficulty", type=float, default=1.0,
                       help="noise level >= 0; 1 is the default benchmark, 0 noise-free (default 1)")
    synth.add_argument("--boundary-context", type=float, default=0.8, metavar="BETA",
                       help="weight in [0, 1] of the context-shared generic motion in start/end phases; 0.8 is the "
                            "default benchmark, lower makes boundaries class-specific (default 0.8)")
    synth.add_argument("--split", nargs="+", choices=("train", "test"), default=["train", "test"],
                       help="splits to write (default: both)")
    synth.add_argument("--annotations", default=None,
                       help="THUMOS14-format annotation directory (default: the copies packaged with ptal)")
    synth.set_defaults(func=_synth)


def _synth(args) -> int:
    from ptal.data.annotations import load_thumos14
    from ptal.data.synthetic import SyntheticThumos14, write_benchmark

    if args.d < 2 or args.d % 2:
        raise UsageError(f"--d must be an even number >= 2, got {args.d}")
    if not args.difficulty >= 0:
        raise UsageError(f"--difficulty must be >= 0, got {args.difficulty}")
    if not 0 <= args.boundary_context <= 1:
        raise UsageError(f"--boundary-context must be in [0, 1], got {args.boundary_context}")
    generator = SyntheticThumos14(load_thumos14(args.annotations), dim=args.d, seed=args.seed,
                                  difficulty=args.difficulty, boundary_context=args.boundary_context)
    write_benchmark(generator, args.out, args.split, progress=_progress)
    print(f"\nwrote {', '.join(args.split)} to {args.out}", file=sys.stderr)
    return 0


def _progress(done: int, total: int, video_id: str) -> None:
    width = 30
    filled = width * done // total
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {video_id}", end="", file=sys.stderr, flush=True)
