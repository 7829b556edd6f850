"""Both models on the ActivityNet twins (README, "ActivityNet"): LACP and APN at the settings of ``ptal demo
--dataset D`` (its subset, D = 256; ``--set data.subset=1`` for the whole twin), several seeds, trained exactly as
the demo trains them (``benchmarks/dataset_experiments.py``'s ``run_model``), mAP[0.5:0.05:0.95] on the validation
split at the best evaluation, beside the ``prior`` and ``prototypes`` baselines of part 1 (which learn nothing).

    python benchmarks/activitynet_experiments.py --datasets activitynet13 --seeds 0 1 2 --out benchmarks/results/activitynet.json
"""
import argparse
import json

import numpy as np

from benchmarks.dataset_experiments import machine, prior_detections, prototype_detections, run_model
from ptal.cli.models import ACTIVITYNET_DEMO_SUBSET
from ptal.data.atomic import write_json_atomic
from ptal.eval import detection_map
from ptal.models import method_config
from ptal.models.common import ground_truth_of, load_dataset

AVERAGE = "average_0.5:0.95"
SHOWN = ("mAP@0.5", "mAP@0.75", "mAP@0.95", AVERAGE)


def baselines(dataset: str, extra: list[str]) -> list[dict]:
    data = method_config(None, [f"data.dataset={dataset}", "data.feature_dim=256",
                                f"data.subset={ACTIVITYNET_DEMO_SUBSET}", *extra]).data
    annotations, train_items, eval_items = load_dataset(data)
    train_truth = ground_truth_of(annotations.ground_truth, [item.video_id for item in train_items])
    classes = len(annotations.class_names)
    lengths = np.array([np.mean((train_truth.end - train_truth.start)[train_truth.label == c])
                        if (train_truth.label == c).any() else 1.0 for c in range(classes)])
    shares = np.bincount(train_truth.label, minlength=classes) / len(train_truth)
    truth = ground_truth_of(annotations.ground_truth, [item.video_id for item in eval_items])
    results = []
    for name, predictions in (("prior", prior_detections(eval_items, lengths, shares, annotations.class_names)),
                              ("prototypes", prototype_detections(train_items, eval_items, lengths,
                                                                  annotations.class_names))):
        result = detection_map(truth, predictions, annotations.dataset.tiou_thresholds)
        metrics = {f"mAP@{t:g}": float(m) for t, m in zip(result.tiou_thresholds, result.map)}
        metrics[AVERAGE] = result.averages["0.5:0.95"]
        results.append({"dataset": dataset, "model": name, "seed": 0, "best": metrics})
    return results


def table(runs: list[dict]) -> str:
    lines = ["| twin | model | seeds | " + " | ".join(SHOWN) + " |", "|---|---|---|" + "---|" * len(SHOWN)]
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        for model in dict.fromkeys(r["model"] for r in runs if r["dataset"] == dataset):
            mine = [r for r in runs if r["dataset"] == dataset and r["model"] == model]
            cells = []
            for key in SHOWN:
                values = 100 * np.array([r["best"][key] for r in mine])
                cells.append(f"{values.mean():.1f} ± {values.std():.1f}" if len(values) > 1 else f"{values[0]:.1f}")
            lines.append(f"| {dataset} | {model} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["activitynet13"], choices=["activitynet13", "activitynet12"])
    parser.add_argument("--models", nargs="+", default=["lacp", "apn"], choices=["lacp", "apn"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--out", help="results JSON (rewritten as runs finish)")
    args = parser.parse_args()
    record = {"machine": machine(), "runs": []}
    print(record["machine"], flush=True)
    for dataset in args.datasets:
        record["runs"] += baselines(dataset, args.set)
        for model in args.models:
            for seed in args.seeds:
                run = run_model(dataset, model, seed, [f"data.subset={ACTIVITYNET_DEMO_SUBSET}", *args.set])
                record["runs"].append(run)
                print(f"{dataset} {model} seed {seed}: AVG {100 * run['best'][AVERAGE]:.2f} in {run['seconds']:.0f} s",
                      flush=True)
                if args.out:
                    write_json_atomic(args.out, record)
    if args.out:
        write_json_atomic(args.out, record)
    print(table(record["runs"]))


if __name__ == "__main__":
    main()
