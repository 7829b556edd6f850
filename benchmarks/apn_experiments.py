"""APN's experiments on the synthetic THUMOS14-structured benchmark (README, "Experiments: APN"):

1. pseudo-label quality (mAP of the k-medoids instances against the training ground truth) as training
   proceeds, with and without L_CTR (the paper's Table 4);
2. final mAP@0.1:0.7 on the test split with and without L_CTR;
3. APN against LACP on the same benchmark, iterations and batch size;
4. the pseudo-label loop's variants: the paper's (embedded X alone, L_CTR summed) and each stabiliser
   measured (mixed input + embedded features, L_CTR averaged, a moving-average embedding, a warm-up);
5. the paper's inference (hard NMS, argmax class) and the ``sentence`` text encoder;
plus two diagnostics: APN on pseudo labels clustered once from the input features
(``pseudo.features=input``), and APN on "oracle" dense labels — for each point, the ground-truth
instance of its class holding it — an upper bound of what better pseudo labels could give.

Both models at the sizes of ``ptal demo`` (ptal.cli.models.DEMO_OVERRIDES). mAP at the best of the
evaluations every ``--eval-every`` iterations (the papers' selection on the test split) and at the last.

    python benchmarks/apn_experiments.py --seeds 0 1 2 --iterations 600 --eval-every 200 --out R.json
    python benchmarks/apn_experiments.py --report R.json --plot pseudo.png     # the tables and the figure again
"""
import argparse
import json

import math

import numpy as np
import torch

from benchmarks.training_runs import train_and_evaluate
from ptal.data.atomic import atomic_file, write_json_atomic
from ptal.models.apn.method import ApnMethod
from ptal.models.apn.pseudo_labels import PseudoLabels
from ptal.cli.models import DEMO_OVERRIDES
from ptal.models import method_class, method_config
from ptal.models.lacp import LacpConfig
from ptal.train import seed_everything
from ptal_core.runs import runs

# variant -> (model family, overrides)
VARIANTS = {
    "apn": ("apn", []),                                    # the defaults (ApnConfig)
    "apn-no-ctr": ("apn", ["loss.ctr=0"]),
    "apn-paper-loop": ("apn", ["pseudo.features=embedded", "loss.ctr_reduction=sum"]),  # the paper's literal loop
    "apn-paper-loop-no-ctr": ("apn", ["pseudo.features=embedded", "loss.ctr=0"]),
    "apn-mixed-sum": ("apn", ["pseudo.features=mixed", "loss.ctr_reduction=sum"]),
    "apn-embedded-mean": ("apn", ["pseudo.features=embedded", "loss.ctr_reduction=mean"]),
    "apn-ema": ("apn", ["pseudo.features=ema", "loss.ctr_reduction=sum"]),
    "apn-warmup": ("apn", ["pseudo.features=embedded", "loss.ctr_reduction=sum", "loss.ctr_after=300"]),
    "apn-input-pseudo": ("apn", ["pseudo.features=input"]),
    "apn-paper-inference": ("apn", ["inference.nms=hard", "inference.classes_per_proposal=1"]),
    "apn-sentence": ("apn", ["text.backend=sentence"]),
    "apn-oracle": ("apn", []),
    "lacp": ("lacp", []),
    "lacp-hard-nms": ("lacp", ["inference.nms=hard"]),                # the release's post-processing
}
# Variants whose pseudo labels are another's (the same loop) or fixed at the ground truth: not drawn.
SAME_PSEUDO_LABELS = ("apn-paper-inference", "apn-sentence", "apn-oracle")
KEYS = [f"mAP@{t:.1f}" for t in np.linspace(0.1, 0.7, 7)] + ["average_0.1:0.5", "average_0.3:0.7", "average_0.1:0.7"]


class OracleApn(ApnMethod):
    """APN whose pseudo labels are, for each point, the ground-truth instance of its class holding it (in
    snippets; the point alone where none does), and the rest of the video background."""

    def refresh_pseudo_labels(self) -> None:
        if self.pseudo is not None:
            return
        instances, background = [], []
        for video, item in enumerate(self.train_items):
            length, snippet = len(item.features), item.seconds_per_snippet
            truth = [(min(math.floor(s / snippet), length - 1),
                      min(max(math.ceil(e / snippet) - 1, math.floor(s / snippet)), length - 1), c)
                     for (s, e), c in zip(item.segments.tolist(), item.segment_labels.tolist())]
            covered = torch.zeros(length, dtype=torch.bool)
            for snippet, label in self.train_points[video].tolist():
                start, end = next(((s, e) for s, e, c in truth if c == label and s <= snippet <= e), (snippet, snippet))
                instances.append([video, start, end, label, snippet])
                covered[start:end + 1] = True
            background += [[video, s, e] for s, e in runs(~covered).tolist()]
        self._set_pseudo_labels(PseudoLabels(torch.tensor(instances), torch.tensor(background).reshape(-1, 3)))


def run(variant: str, seed: int, args) -> dict:
    name, overrides = VARIANTS[variant]
    lr = args.apn_lr if name == "apn" else args.lacp_lr
    extra = [*args.set, *(args.apn_set if name == "apn" else [])]
    config = method_config(None, [f"model.name={name}", *DEMO_OVERRIDES[name], *overrides, *extra, f"train.seed={seed}",
                                  f"train.lr={lr}"], name)
    seed_everything(seed)
    method = (OracleApn if variant == "apn-oracle" else method_class(name))(config)
    history, seconds = train_and_evaluate(method, config.train, args.iterations, args.eval_every,
                                          method.pseudo_label_metrics if name == "apn" else None)
    evaluations = [h for h in history if "average_0.1:0.7" in h]
    best = max(evaluations, key=lambda h: h["average_0.1:0.7"])
    return {"variant": variant, "seed": seed, "lr": lr, "seconds": seconds, "best": best,
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


def pseudo_table(results: list[dict], variants: list[str], key: str = "pseudo/mAP@0.5", scale: float = 100,
                 every: int = 100) -> str:
    iterations = sorted({h["iteration"] for r in results for h in r["history"] if key in h and h["iteration"] % every == 0})
    lines = ["| variant | " + " | ".join(f"it {i}" for i in iterations) + " |", "|---" * (len(iterations) + 1) + "|"]
    for variant in variants:
        runs = [r for r in results if r["variant"] == variant and not variant.startswith("lacp")]
        if not runs:
            continue
        cells = []
        for i in iterations:
            values = [scale * h[key] for r in runs for h in r["history"] if h["iteration"] == i and key in h]
            cells.append(f"{np.mean(values):.1f}±{np.std(values):.1f}" if values else "")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_table(results: list[dict], variant: str = "apn", without: str = "apn-no-ctr") -> str:
    """Per seed: AVG[0.1:0.7] of ``variant`` and of ``without`` (its L_CTR-free twin), and ``variant``'s
    pseudo-label mAP@0.5 at the first and the last clustering."""
    lines = [f"| seed | {variant} | {without} | difference | pseudo mAP@0.5 first → last |", "|---|---|---|---|---|"]
    by_seed = {(r["variant"], r["seed"]): r for r in results}
    for seed in sorted({r["seed"] for r in results if r["variant"] == variant}):
        run, twin = by_seed[variant, seed], by_seed.get((without, seed))
        pseudo = [h["pseudo/mAP@0.5"] for h in run["history"] if "pseudo/mAP@0.5" in h]
        mine = 100 * run["best"]["average_0.1:0.7"]
        other = 100 * twin["best"]["average_0.1:0.7"] if twin else float("nan")
        lines.append(f"| {seed} | {mine:.1f} | {other:.1f} | {mine - other:+.1f} | "
                     f"{100 * pseudo[0]:.1f} → {100 * pseudo[-1]:.1f} |")
    return "\n".join(lines)


def plot_pseudo_labels(results: list[dict], variants: list[str], path: str) -> None:
    """Pseudo-label mAP@0.5 against the iteration, mean and range over the seeds, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 4.5))
    colours = iter(plt.get_cmap("tab10").colors)
    for variant in variants:
        runs = [r for r in results if r["variant"] == variant]
        if variant.startswith("lacp") or variant in SAME_PSEUDO_LABELS or not runs:
            continue
        iterations = [h["iteration"] for h in runs[0]["history"] if "pseudo/mAP@0.5" in h]
        values = np.array([[100 * h["pseudo/mAP@0.5"] for h in r["history"] if "pseudo/mAP@0.5" in h] for r in runs])
        line, = axis.plot(iterations, values.mean(0), label=variant, color=next(colours),
                          linewidth=2.5 if variant == "apn" else 1.2)
        axis.fill_between(iterations, values.min(0), values.max(0), color=line.get_color(), alpha=0.15)
    axis.set_xlabel("training iteration")
    axis.set_ylabel("pseudo-label mAP@0.5 on the training videos (%)")
    axis.set_title("APN's pseudo labels during training (mean and range over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    figure.tight_layout()
    with atomic_file(path) as file:
        figure.savefig(file, format="png", dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--apn-lr", type=float, default=method_config(None, ["model.name=apn", *DEMO_OVERRIDES["apn"]]).train.lr)
    parser.add_argument("--lacp-lr", type=float, default=LacpConfig().train.lr)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides of every variant, LACP included, e.g. data.boundary_context=0.4")
    parser.add_argument("--apn-set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more overrides of every APN variant, e.g. proposals.max_proposals=1000")
    parser.add_argument("--out", default="apn_experiments.json")
    parser.add_argument("--report", nargs="+", metavar="JSON", help="only print the tables of these result files, merged")
    parser.add_argument("--plot", metavar="PNG", help="draw the pseudo-label mAP@0.5 of the APN variants over iterations")
    args = parser.parse_args()
    if args.report:
        results = []
        for path in args.report:
            with open(path) as file:
                results += json.load(file)["runs"]
        args.variants = [v for v in VARIANTS if any(r["variant"] == v for r in results)]
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
    print("\nmean pseudo-instance length (snippets; ground truth 6.3):\n"
          + pseudo_table(results, args.variants, "pseudo/mean_length", 1))
    if any(r["variant"] == "apn" for r in results):
        print("\nper seed, with and without L_CTR:\n" + seed_table(results))
    if args.plot:
        plot_pseudo_labels(results, args.variants, args.plot)


if __name__ == "__main__":
    main()
