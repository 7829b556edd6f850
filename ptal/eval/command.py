"""``ptal eval``: detection mAP of an ActivityNet results file against ActivityNet ground truth."""
from __future__ import annotations

import sys

from ptal.data.atomic import write_json_atomic
from ptal.eval.detection import DEFAULT_TIOU_THRESHOLDS, detection_map


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="detection mAP of predictions (ActivityNet results JSON) against ground truth",
        description="Detection mAP with the semantics of the official ActivityNet evaluation: prints AP per tIoU "
                    "threshold and the averages papers quote, and optionally writes them as JSON.")
    parser.add_argument("--gt", required=True, metavar="GT.json",
                        help='ground truth, {"database": {video: {"subset", "annotations"}}}')
    parser.add_argument("--pred", required=True, metavar="PRED.json",
                        help='predictions, {"results": {video: [{"segment", "label", "score"}]}}')
    parser.add_argument("--thresholds", type=float, nargs="+", metavar="T",
                        help="tIoU thresholds (default: 0.1 0.2 ... 0.7)")
    parser.add_argument("--subset", help="evaluate only the ground-truth videos of this subset (e.g. test)")
    parser.add_argument("--per-class", action="store_true", help="also print the AP of every class")
    parser.add_argument("--out", metavar="RESULT.json", help="write the result as JSON (replaced atomically)")
    parser.set_defaults(func=run)


def run(args) -> int:
    thresholds = DEFAULT_TIOU_THRESHOLDS if args.thresholds is None else args.thresholds
    try:
        result = detection_map(args.gt, args.pred, tiou_thresholds=thresholds, subset=args.subset)
        print(result.table(per_class=args.per_class))
        if args.out:
            write_json_atomic(args.out, result.to_dict())
    except (OSError, ValueError) as error:
        print(f"ptal eval: error: {error}", file=sys.stderr)
        return 1
    return 0
