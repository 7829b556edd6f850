"""APN's experiments on the synthetic THUMOS14-structured benchmark (README, "Experiments: APN"):

1. pseudo-label quality (mAP of the k-medoids instances against the training ground truth) as training
   proceeds, with and without L_CTR (the paper's Table 4);
2. final mAP@0.1:0.7 on the test split with and without L_CTR;
3. APN against LACP on the same benchmark, iterations and batch size;
4. the ``learned`` against the ``sentence`` text encoder;
plus APN on pseudo labels clustered once from the input features (``pseudo.features=input``).

Both models at the sizes of ``ptal demo`` (ptal.models.command.DEMO_OVERRIDES). mAP at the best of the
evaluations every ``--eval-every`` iterations (the papers' selection on the test split) and at the last.

    python benchmarks/apn_experiments.py --seeds 0 1 2 --iterations 600 --out apn_experiments.json
"""
import argparse
import copy
import json
import time

import numpy as np
import torch

from ptal.data.atomic import write_json_atomic
from ptal.models.command import DEMO_OVERRIDES, family, method_config

# variant -> (model family, overrides)
VARIANTS = {
    "apn": ("apn", []),
    "apn-no-ctr": ("apn", ["loss.ctr=0"]),
    "apn-sentence": ("apn", ["text.backend=sentence"]),
    "apn-input-pseudo": ("apn", ["pseudo.features=input"]),
    "lacp": ("lacp", []),
}
KEYS = [f"mAP@{t:.1f}" for t in np.linspace(0.1, 0.7, 7)] + ["average_0.1:0.5", "average_0.3:0.7", "average_0.1:0.7"]


def run(variant: str, seed: int, args) -> dict:
    name, overrides = VARIANTS[variant]
    lr = args.apn_lr if name == "apn" else args.lacp_lr
    config = method_config(None, [f"model.name={name}", *overrides, f"train.seed={seed}", f"train.lr={lr}"],
                           copy.deepcopy(DEMO_OVERRIDES[name]), name)
    method_class, _ = family(name)
    torch.manual_seed(seed)
    method = method_class(config)
    train = config["train"]
    optimizer = torch.optim.Adam(method.model.parameters(), lr=train["lr"], betas=tuple(train["betas"]),
                                 weight_decay=train["weight_decay"])
    start, history = time.time(), []
    for iteration in range(1, args.iterations + 1):
        method.before_iteration(iteration)
        if iteration == 1 and name == "apn":
            history.append({"iteration": 0, **method.pseudo_label_metrics()})  # the initial pseudo labels
        loss, _ = method.training_loss(iteration)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % args.eval_every == 0:
            method.model.eval()
            with torch.no_grad():
                history.append({"iteration": iteration, **method.evaluate()})
            method.model.train()
    evaluations = [h for h in history if "average_0.1:0.7" in h]
    best = max(evaluations, key=lambda h: h["average_0.1:0.7"])
    return {"variant": variant, "seed": seed, "lr": lr, "seconds": time.time() - start, "best": best,
            "last": evaluations[-1], "history": history}


def table(results: list[dict], variants: list[str], which: str) -> str:
    lines = ["| variant | " + " | ".join(k.replace("average_", "AVG ").replace("mAP", "") for k in KEYS) + " |",
             "|---" * (len(KEYS) + 1) + "|"]
    for variant in variants:
        runs = [r[which] for r in results if r["variant"] == variant]
        if runs:
            cells = [f"{100 * np.mean([r[k] for r in runs]):.1f}±{100 * np.std([r[k] for r in runs]):.1f}" for k in KEYS]
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pseudo_table(results: list[dict], variants: list[str]) -> str:
    iterations = sorted({h["iteration"] for r in results for h in r["history"] if "pseudo/mAP@0.5" in h})
    lines = ["| variant | " + " | ".join(f"it {i}" for i in iterations) + " |", "|---" * (len(iterations) + 1) + "|"]
    for variant in variants:
        runs = [r for r in results if r["variant"] == variant and r["variant"] != "lacp"]
        if not runs:
            continue
        cells = []
        for i in iterations:
            values = [h["pseudo/mAP@0.5"] for r in runs for h in r["history"] if h["iteration"] == i and "pseudo/mAP@0.5" in h]
            cells.append(f"{100 * np.mean(values):.1f}±{100 * np.std(values):.1f}" if values else "")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--apn-lr", type=float, default=1e-3)
    parser.add_argument("--lacp-lr", type=float, default=1e-4)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", default="apn_experiments.json")
    parser.add_argument("--report", action="store_true", help="only print the tables of --out")
    args = parser.parse_args()
    if args.report:
        with open(args.out) as file:
            results = json.load(file)["runs"]
    else:
        results = []
        for variant in args.variants:
            for seed in args.seeds:
                results.append(run(variant, seed, args))
                r = results[-1]
                print(f"{variant:16s} seed {seed}: best AVG {100 * r['best']['average_0.1:0.7']:.1f} "
                      f"(it {r['best']['iteration']}), last {100 * r['last']['average_0.1:0.7']:.1f}, "
                      f"{r['seconds']:.0f} s", flush=True)
                write_json_atomic(args.out, {"settings": vars(args), "runs": results})
    print("best of the evaluations, mean ± std over seeds (%):\n" + table(results, args.variants, "best"))
    print("\nlast evaluation:\n" + table(results, args.variants, "last"))
    print("\npseudo-label mAP@0.5 on the training videos:\n" + pseudo_table(results, args.variants))


if __name__ == "__main__":
    main()
