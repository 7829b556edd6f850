"""LACP's ablation on the synthetic THUMOS14-structured benchmark: baseline (video + point losses),
+ score loss, + feature loss, both; several seeds; mAP@0.1:0.7 on the test split, best of the periodic
evaluations (as the release selects) and last.

    python benchmarks/lacp_ablation.py --seeds 0 1 2 --iterations 600 --dim 64 --hidden 256 --out ablation.json
"""
import argparse

import numpy as np

from benchmarks.training_runs import train_and_evaluate
from ptal.data.atomic import write_json_atomic
from ptal.models import build_method, method_config

VARIANTS = {"baseline": (0.0, 0.0), "+score": (1.0, 0.0), "+feature": (0.0, 1.0), "both": (1.0, 1.0)}


def run(variant: str, seed: int, args) -> dict:
    score, feature = VARIANTS[variant]
    config = method_config(None, [f"data.feature_dim={args.dim}", f"model.hidden={args.hidden}", f"loss.score={score}",
                                  f"loss.feature={feature}", f"search.method={args.search}", f"train.seed={seed}"])
    method = build_method(config, "cpu")
    history, seconds = train_and_evaluate(method, config.train, args.iterations, args.eval_every)
    best = max(history, key=lambda h: h["average_0.1:0.7"])
    return {"variant": variant, "seed": seed, "seconds": seconds, "best": best, "last": history[-1],
            "sequence_score": method.sequence_score}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--search", default="exact", choices=["exact", "beam"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--out", default="ablation.json")
    args = parser.parse_args()
    results = []
    for variant in args.variants:
        for seed in args.seeds:
            results.append(run(variant, seed, args))
            r = results[-1]
            print(f"{variant:9s} seed {seed}: best avg {100 * r['best']['average_0.1:0.7']:.1f} "
                  f"(it {r['best']['iteration']}), last {100 * r['last']['average_0.1:0.7']:.1f}, {r['seconds']:.0f} s",
                  flush=True)
            write_json_atomic(args.out, {"settings": vars(args), "runs": results})
    keys = [f"mAP@{t:.1f}" for t in np.linspace(0.1, 0.7, 7)] + ["average_0.1:0.5", "average_0.3:0.7", "average_0.1:0.7"]
    print("variant   " + " ".join(f"{k.replace('average_', 'avg'):>9s}" for k in keys))
    for variant in args.variants:
        best = [r["best"] for r in results if r["variant"] == variant]
        mean = [100 * np.mean([b[k] for b in best]) for k in keys]
        std = [100 * np.std([b[k] for b in best]) for k in keys]
        print(f"{variant:9s} " + " ".join(f"{m:5.1f}±{s:3.1f}" for m, s in zip(mean, std)))


if __name__ == "__main__":
    main()
