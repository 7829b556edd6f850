"""``ptal eval``: detection mAP of an ActivityNet results file against ActivityNet ground truth, or of a
trained checkpoint on its evaluation split."""
from __future__ import annotations

from ptal.cli import UsageError, main_process
from ptal.data.atomic import write_json_atomic
from ptal.data.datasets import DATASETS, THUMOS14, dataset_spec
from ptal.eval.detection import detection_map


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="detection mAP of predictions (ActivityNet results JSON) against ground truth, or of a checkpoint",
        description="Detection mAP with the semantics of the official ActivityNet evaluation: prints AP per tIoU "
                    "threshold and the averages papers quote, and optionally writes them as JSON. Give --gt and "
                    "--pred (of the ground truth's subsets, the one holding the predicted videos is evaluated, "
                    "unless --subset names one), or --checkpoint (a ptal train checkpoint, evaluated on its "
                    "config's evaluation split; for APN also the mAP of its pseudo labels on the training videos).")
    parser.add_argument("--gt", metavar="GT.json", help='ground truth, {"database": {video: {"subset", "annotations"}}}')
    parser.add_argument("--pred", metavar="PRED.json",
                        help='predictions, {"results": {video: [{"segment", "label", "score"}]}}')
    parser.add_argument("--checkpoint", metavar="PT", help="a checkpoint of ptal train (best.pt, last.pt)")
    parser.add_argument("--thresholds", type=float, nargs="+", metavar="T",
                        help="tIoU thresholds (default: the benchmark's: --dataset's, or the checkpoint's; THUMOS14, "
                             "GTEA, BEOID: 0.1 0.2 ... 0.7; ActivityNet: 0.5 0.55 ... 0.95)")
    parser.add_argument("--dataset", choices=tuple(DATASETS),
                        help="the benchmark of --gt/--pred, for its default thresholds (default thumos14)")
    parser.add_argument("--subset", default="auto",
                        help="evaluate only the ground-truth videos of this subset (e.g. test; case is ignored); "
                             "default: the subset holding the predicted videos")
    parser.add_argument("--ties", choices=("stable", "official"), default="stable",
                        help="order of equal scores and tIoUs: ptal's (row order) or the official code's (NumPy's)")
    parser.add_argument("--per-class", action="store_true", help="also print the AP of every class")
    parser.add_argument("--out", metavar="RESULT.json", help="write the result as JSON (replaced atomically)")
    parser.set_defaults(func=run)


def run(args) -> int:
    if (args.checkpoint is None) == (args.gt is None or args.pred is None) or (args.checkpoint and (args.gt or args.pred)):
        raise UsageError("give either --gt and --pred, or --checkpoint")
    if args.checkpoint and (args.subset != "auto" or args.ties != "stable" or args.dataset):
        raise UsageError("--subset, --ties and --dataset apply to --gt/--pred; a checkpoint is evaluated on its "
                         "config's dataset and data.eval_split")
    if args.checkpoint:
        result = _evaluate_checkpoint(args.checkpoint, args.thresholds, args.per_class)
    else:
        thresholds = args.thresholds or dataset_spec(args.dataset or THUMOS14.name).tiou_thresholds
        result = detection_map(args.gt, args.pred, tiou_thresholds=thresholds, subset=args.subset, ties=args.ties)
        if result.subset.automatic and len(result.subset.video_counts) > 1:
            print(f"{result.subset.describe()}; --subset to choose")
        print(result.table(per_class=args.per_class))
    if args.out and main_process():
        write_json_atomic(args.out, result.to_dict())
    return 0


def _evaluate_checkpoint(path: str, thresholds, per_class: bool):
    from ptal.cli.models import load_method

    method = load_method(path)
    thresholds = thresholds or method.tiou_thresholds
    result = detection_map(method.eval_ground_truth, method.predictions(), tiou_thresholds=thresholds)
    print(f"{path}: {method.config.model.name.upper()} on {method.dataset.title}'s {method.config.data.eval_split} split")
    print(result.table(per_class=per_class))
    pseudo = method.pseudo_label_result(thresholds)
    if pseudo is not None:
        print("pseudo labels (every instance scoring 1) against the training ground truth:")
        print(pseudo.table())
    return result
