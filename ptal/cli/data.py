"""``ptal data synth``: write a benchmark's synthetic twin (LACP's or SF-Net's layout); ``ptal data points``:
draw point labels from a benchmark's ground truth (or its annotators' single frames) into a point-label CSV."""
from __future__ import annotations

import sys

from ptal.cli import UsageError
from ptal.data.datasets import DATASETS

PROTOCOL_HELP = ("uniform: a frame uniformly at random inside each instance (SF-Net's protocol); gaussian: the "
                 "instance's centre plus Gaussian noise of --sigma frames (LACP's point_gaussian); annotator: "
                 "the single frames of SF-Net's annotator --annotator K; random-annotator: per instance, one of "
                 "the annotators who marked it")


def add_parser(subparsers) -> None:
    data = subparsers.add_parser("data", help="datasets: write a synthetic twin, draw point labels")
    commands = data.add_subparsers(dest="data_command", required=True)
    synth = commands.add_parser(
        "synth", help="write a benchmark's synthetic twin and its annotations (LACP's or SF-Net's layout)",
        description="Write the synthetic twin of --dataset: in LACP's layout, out/features/<split>/{rgb,flow}/"
                    "<video>.npy ((T, D/2) float32 each) and the annotation files; in SF-Net's, "
                    "out/<Name>-I3D-JOINTFeatures.npy and out/<Name>-Annotations/; both with out/synthetic.json. "
                    "THUMOS14: about 1.1 GB for both splits at D = 2048.")
    synth.add_argument("--out", required=True, help="output directory")
    synth.add_argument("--dataset", choices=tuple(DATASETS), default="thumos14", help="the benchmark (default thumos14)")
    synth.add_argument("--layout", choices=("lacp", "sfnet"), default=None,
                       help="LACP's layout (default for thumos14 and ActivityNet) or SF-Net's (default for gtea and "
                            "beoid; ActivityNet's W-TALC file names, all videos in memory while written)")
    synth.add_argument("--d", type=int, default=2048, help="feature dimension D, even (default 2048, as I3D)")
    synth.add_argument("--seed", type=int, default=0, help="benchmark seed (default 0)")
    synth.add_argument("--difficulty", type=float, default=1.0,
                       help="noise level >= 0; 1 is the default benchmark, 0 noise-free (default 1)")
    synth.add_argument("--boundary-context", type=float, default=0.8, metavar="BETA",
                       help="weight in [0, 1] of the context-shared generic motion in start/end phases; 0.8 is the "
                            "default benchmark, lower makes boundaries class-specific (default 0.8)")
    synth.add_argument("--split", nargs="+", default=None,
                       help="splits to write (default: all; THUMOS14: train test, GTEA and BEOID: training validation)")
    synth.add_argument("--annotations", default=None,
                       help="the dataset's annotation directory (default: the copies packaged with ptal)")
    synth.set_defaults(func=_synth)

    points = commands.add_parser(
        "points", help="draw point labels from a benchmark's ground truth into a point-label CSV",
        description="Draw one point per ground-truth instance of --split with --protocol and --seed, and write them "
                    "in the point-label CSV format of SF-Net and LACP (class,class_index,start_frame,stop_frame,"
                    "video_id,point; frames at the source fps). Training reads such a file with data.points=CSV. "
                    + PROTOCOL_HELP + ".")
    points.add_argument("--dataset", choices=tuple(DATASETS), required=True, help="the benchmark")
    points.add_argument("--out", required=True, metavar="CSV", help="the point-label CSV to write")
    points.add_argument("--protocol", choices=("uniform", "gaussian", "annotator", "random-annotator"),
                        default="uniform", help="how each point is drawn (default uniform)")
    points.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    points.add_argument("--annotator", type=int, metavar="K", help="which annotator (1-based), for --protocol annotator")
    points.add_argument("--sigma", type=float, default=1.0, metavar="FRAMES",
                        help="the gaussian protocol's standard deviation in frames (default 1)")
    points.add_argument("--split", default=None, help="whose instances (default: the dataset's training split)")
    points.add_argument("--annotations", default=None,
                        help="annotation directory (LACP's layout, an ActivityNet-style gt.json, or SF-Net's arrays; "
                             "default: the copies packaged with ptal)")
    points.set_defaults(func=_points)


def _synth(args) -> int:
    from ptal.data.annotations import load_annotations
    from ptal.data.synthetic import MAX_DIFFICULTY, SyntheticBenchmark, write_benchmark

    # SF-Net's single feature file holds every video in memory while it is written: ActivityNet's go one file each.
    layout = args.layout or ("sfnet" if args.dataset in ("gtea", "beoid") else "lacp")
    if args.d < 1 or (layout == "lacp" and args.d % 2):
        raise UsageError(f"--d must be an even number >= 2 in the LACP layout (a number >= 1 in SF-Net's), got {args.d}")
    if not 0 <= args.difficulty <= MAX_DIFFICULTY:
        raise UsageError(f"--difficulty must be in [0, {MAX_DIFFICULTY:g}], got {args.difficulty}")
    if not 0 <= args.boundary_context <= 1:
        raise UsageError(f"--boundary-context must be in [0, 1], got {args.boundary_context}")
    annotations = load_annotations(args.dataset, args.annotations)
    if args.split is not None and set(args.split) - set(annotations.splits):
        raise UsageError(f"--split {' '.join(args.split)}: {annotations.dataset.title}'s splits are "
                         f"{', '.join(annotations.splits)}")
    generator = SyntheticBenchmark(annotations, dim=args.d, seed=args.seed, difficulty=args.difficulty,
                                   boundary_context=args.boundary_context)
    try:
        write_benchmark(generator, args.out, args.split, progress=_progress, layout=layout)
    finally:
        print(file=sys.stderr)  # ends the progress bar's line, so that an error has its own line
    print(f"wrote {annotations.dataset.title}'s twin ({', '.join(args.split or annotations.splits)}) in the "
          f"{layout} layout to {args.out}", file=sys.stderr)
    return 0


def _points(args) -> int:
    from ptal.data.annotations import drawn_points, load_annotations
    from ptal.data.points import write_point_labels

    if (args.protocol == "annotator") != (args.annotator is not None):
        raise UsageError("--annotator K goes with --protocol annotator (and only with it)")
    if not args.sigma > 0:
        raise UsageError(f"--sigma must be > 0, got {args.sigma}")
    annotations = load_annotations(args.dataset, args.annotations, points="uniform")
    dataset = annotations.dataset
    split = args.split or dataset.train_split
    if split not in annotations.splits:
        raise UsageError(f"--split {split}: {dataset.title}'s splits are {', '.join(annotations.splits)}")
    drawn = drawn_points(annotations, args.protocol, args.seed, split, args.annotator, args.sigma)
    write_point_labels(args.out, drawn.points)
    unmarked = drawn.instances - len(drawn.points)
    print(f"{len(drawn.points)} points of {drawn.instances} instances of {dataset.title}'s {split} split "
          f"({args.protocol}, seed {args.seed}) -> {args.out}"
          + (f"; {unmarked} instance{'s' if unmarked > 1 else ''} without a point" if unmarked else "")
          + (f"; {drawn.unmatched_frames} annotated frames lie outside every instance of their class and were left "
             f"out" if drawn.unmatched_frames else ""))
    return 0


def _progress(done: int, total: int, video_id: str) -> None:
    width = 30
    filled = width * done // total
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {video_id}", end="", file=sys.stderr, flush=True)
