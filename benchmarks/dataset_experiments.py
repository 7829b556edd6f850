"""Both models on the three benchmarks' synthetic twins (README, "Experiments: the benchmarks"): LACP and APN
at the settings of ``ptal demo --dataset D`` (D = 256), several seeds (``train.seed``; the twin itself is
``data.seed=0``), trained by ptal's trainer exactly as the demo trains them, so seed 0 is the demo's run.
mAP on the dataset's evaluated split at the best of the evaluations (the papers' selection), beside three
baselines that learn nothing:

- ``prior``: no features: each evaluation video tiled, for every class, with segments of the class's mean
  training instance length, scored by the class's share of the training instances. The trivial floor.
- ``prototypes``: each class's prototype is the mean of the (unit-norm) features at its training points;
  on an evaluation video every local maximum of a snippet's cosine similarity to a prototype is a detection
  of that class, widened to the class's mean training instance length and scored by the similarity
  (hard NMS at 0.5 per class). It uses what the models use, the training points and the features.
- ``test points``: the evaluation videos' own points (drawn with the dataset's protocol: THUMOS14 gaussian,
  GTEA and BEOID uniform; seed 0), each widened to its class's mean training length, score 1. The models
  never see these points: the row says how much knowing each instance's place and class gives alone.

With ``--ablations``, each model setting a dataset changes (``DatasetSpec.settings``) is put back to the
family's default, one at a time, seed 0: the measurement behind each setting.

    python benchmarks/dataset_experiments.py --seeds 0 1 2 --out benchmarks/results/datasets_DATE.json
    python benchmarks/dataset_experiments.py --ablations --datasets gtea beoid --out benchmarks/results/ablations.json
    python benchmarks/dataset_experiments.py --report benchmarks/results/datasets_DATE.json
"""
import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ptal.cli.models import DEMO_DATASET_OVERRIDES, DEMO_OVERRIDES
from ptal.data.activitynet import Segments
from ptal.data.annotations import drawn_points
from ptal.data.atomic import write_json_atomic
from ptal.data.datasets import DATASETS
from ptal.eval import detection_map
from ptal.models import build_method, method_class, method_config
from ptal.models.common import ground_truth_of, load_dataset
from ptal.ops import temporal_nms
from ptal.train import config_to_dict, train

MODELS = ("lacp", "apn")
BASELINES = ("prior", "prototypes", "test points")
AVERAGE = "average_0.1:0.7"
EVAL_POINTS = {"thumos14": "gaussian", "gtea": "uniform", "beoid": "uniform"}


def run_model(dataset: str, model: str, seed: int, extra: list[str]) -> dict:
    """Train one model as ``ptal demo --dataset`` does, with ``train.seed=seed``; the best evaluation's metrics."""
    config = method_config(None, [f"model.name={model}", f"data.dataset={dataset}", *DEMO_OVERRIDES[model],
                                  *DEMO_DATASET_OVERRIDES[dataset][model], *extra, f"train.seed={seed}",
                                  "train.progress=false"], model)
    with tempfile.TemporaryDirectory() as out:
        config.train.out_dir = out
        started = time.time()
        method = build_method(config, "cpu")
        summary = train(method, config.train, config=config_to_dict(config))
        seconds = time.time() - started
        records = [json.loads(line) for line in (Path(out) / "log.jsonl").read_text().splitlines()]
    evaluations = [r for r in records if "metrics" in r]
    best = next(r for r in evaluations if r["iteration"] == summary["best_iteration"])
    return {"dataset": dataset, "model": model, "seed": seed, "seconds": seconds, "iterations": config.train.iterations,
            "best_iteration": best["iteration"], "best": best["metrics"], "last": evaluations[-1]["metrics"]}


def run_baselines(dataset: str, dim: int) -> list[dict]:
    """Both baselines on the twin at feature size ``dim`` (they draw nothing at random but the test points)."""
    data = method_config(None, [f"data.dataset={dataset}", f"data.feature_dim={dim}"]).data
    annotations, train_items, eval_items = load_dataset(data)
    truth = annotations.ground_truth
    train_rows = truth.take(np.isin(truth.video, [truth.video_ids.index(i.video_id) for i in train_items]))
    lengths = np.array([np.mean((train_rows.end - train_rows.start)[train_rows.label == c])
                        for c in range(len(annotations.class_names))])
    eval_truth = ground_truth_of(truth, [item.video_id for item in eval_items])
    thresholds = annotations.dataset.tiou_thresholds
    results = []
    shares = np.bincount(train_rows.label, minlength=len(lengths)) / len(train_rows)
    for name, predictions in (("prior", prior_detections(eval_items, lengths, shares, truth.class_names)),
                              ("prototypes", prototype_detections(train_items, eval_items, lengths, truth.class_names)),
                              ("test points", test_point_detections(annotations, data.eval_split, eval_items, lengths))):
        result = detection_map(eval_truth, predictions, thresholds)
        metrics = {f"mAP@{t:.1f}": float(m) for t, m in zip(result.tiou_thresholds, result.map)}
        metrics.update({f"average_{grid}": float(v) for grid, v in result.averages.items()})
        results.append({"dataset": dataset, "model": name, "seed": 0, "best": metrics, "last": metrics})
    return results


def prior_detections(eval_items, lengths: np.ndarray, shares: np.ndarray, class_names: list[str]) -> Segments:
    """The ``prior`` baseline (module docstring)."""
    rows = []
    for v, item in enumerate(eval_items):
        duration = len(item.features) * item.seconds_per_snippet
        for c in np.flatnonzero(shares):
            starts = np.arange(0, duration, lengths[c])
            rows += [(v, start, min(start + lengths[c], duration), c, shares[c]) for start in starts]
    video, start, end, label, score = (np.array(column) for column in zip(*rows))
    return Segments([item.video_id for item in eval_items], class_names, video.astype(np.int64), start, end,
                    label.astype(np.int64), score)


def prototype_detections(train_items, eval_items, lengths: np.ndarray, class_names: list[str]) -> Segments:
    """The ``prototypes`` baseline (module docstring)."""
    classes = len(lengths)
    features = [torch.nn.functional.normalize(item.features.double(), dim=1) for item in train_items]
    sums = torch.zeros(classes, features[0].shape[1], dtype=torch.float64)
    for item, unit in zip(train_items, features):
        snippet, label = torch.nonzero(item.point_labels, as_tuple=True)
        sums.index_add_(0, label, unit[snippet])
    prototypes = torch.nn.functional.normalize(sums, dim=1)
    rows = {"video": [], "start": [], "end": [], "label": [], "score": []}
    for v, item in enumerate(eval_items):
        similarity = torch.nn.functional.normalize(item.features.double(), dim=1) @ prototypes.T  # (T, C)
        padded = torch.nn.functional.pad(similarity.T, (1, 1), value=-2.0)                     # (C, T + 2)
        peak = (padded[:, 1:-1] >= padded[:, :-2]) & (padded[:, 1:-1] > padded[:, 2:])
        label, snippet = torch.nonzero(peak, as_tuple=True)
        centre = (snippet.double() + 0.5) * item.seconds_per_snippet
        half = torch.from_numpy(lengths)[label] / 2
        rows["video"].append(torch.full_like(label, v))
        rows["start"].append((centre - half).clamp(min=0))
        rows["end"].append(centre + half)
        rows["label"].append(label)
        rows["score"].append(similarity[snippet, label])
    video, start, end, label, score = (torch.cat(rows[key]) for key in ("video", "start", "end", "label", "score"))
    keep = temporal_nms(torch.stack([start, end], 1), score, 0.5, video * classes + label)
    return Segments([item.video_id for item in eval_items], class_names, video[keep].numpy(), start[keep].numpy(),
                    end[keep].numpy(), label[keep].numpy(), score[keep].numpy())


def test_point_detections(annotations, split: str, eval_items, lengths: np.ndarray) -> Segments:
    """The ``test points`` baseline (module docstring)."""
    dataset = annotations.dataset
    points = drawn_points(annotations, EVAL_POINTS[dataset.name], 0, split).points
    video_ids = [item.video_id for item in eval_items]
    video = np.array([video_ids.index(points.video_ids[v]) for v in points.video], dtype=np.int64)
    half = lengths[points.label] / 2
    return Segments(video_ids, list(dataset.class_names), video, np.maximum(points.time - half, 0),
                    points.time + half, points.label, np.ones(len(points)))


def table(results: list[dict], datasets: list[str], which: str = "best") -> str:
    """mAP (%) per threshold and AVG[0.1:0.7], mean ± std over the seeds, one row per dataset and model."""
    keys = [f"mAP@{t:.1f}" for t in np.linspace(0.1, 0.7, 7)] + [AVERAGE]
    lines = ["| dataset | model | seeds | " + " | ".join(k.replace("mAP", "").replace("average_", "AVG ")
                                                      for k in keys) + " |", "|---" * (len(keys) + 3) + "|"]
    for dataset in datasets:
        for model in (*MODELS, *BASELINES):
            runs = [r for r in results if r["dataset"] == dataset and r["model"] == model]
            if not runs:
                continue
            cells = []
            for key in keys:
                values = 100 * np.array([r[which][key] for r in runs])
                cells.append(f"{values.mean():.1f}" + (f"±{values.std():.1f}" if len(runs) > 1 else ""))
            lines.append(f"| {DATASETS[dataset].title} | {model.upper() if model in MODELS else model} | {len(runs)} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios(results: list[dict], datasets: list[str]) -> str:
    """APN / LACP of the mean AVG[0.1:0.7], and each model's margin over each baseline, per dataset."""
    lines = []
    for dataset in datasets:
        mean = {model: np.mean([r["best"][AVERAGE] for r in results if r["dataset"] == dataset and r["model"] == model])
                for model in (*MODELS, *BASELINES)
                if any(r["dataset"] == dataset and r["model"] == model for r in results)}
        if "lacp" in mean and "apn" in mean:
            margins = "; ".join(f"over {b}: LACP {100 * (mean['lacp'] - mean[b]):+.1f}, APN {100 * (mean['apn'] - mean[b]):+.1f}"
                                for b in BASELINES if b in mean)
            lines.append(f"{DATASETS[dataset].title}: APN / LACP = {mean['apn'] / mean['lacp']:.2f}; {margins}")
    return "\n".join(lines)


def run_ablations(datasets: list[str], models: list[str]) -> list[dict]:
    """Seed 0 with each dataset setting put back to the family's default (``variant``: ``KEY=default``)."""
    results = []
    for dataset in datasets:
        for model in models:
            defaults = config_to_dict(method_class(model).config_class())
            for setting in DATASETS[dataset].settings.get(model, ()):
                section, key = setting.key.split(".")
                variant = f"{setting.key}={defaults[section][key]}"
                result = run_model(dataset, model, 0, [variant])
                results.append({**result, "variant": variant, "setting": f"{setting.key}={setting.value}"})
                print(f"{dataset} {model} with {variant}: best AVG {100 * result['best'][AVERAGE]:.1f}", flush=True)
    return results


def ablation_table(results: list[dict], reference: list[dict]) -> str:
    """AVG[0.1:0.7] of seed 0 with the dataset's settings and with each put back."""
    lines = ["| dataset | model | setting | AVG with it | AVG with the family's default | default |", "|---|---|---|---|---|---|"]
    for r in results:
        base = next((b for b in reference if b["dataset"] == r["dataset"] and b["model"] == r["model"]
                     and b["seed"] == 0), None)
        with_it = f"{100 * base['best'][AVERAGE]:.1f}" if base else "—"
        lines.append(f"| {DATASETS[r['dataset']].title} | {r['model'].upper()} | `{r['setting']}` | {with_it} | "
                     f"{100 * r['best'][AVERAGE]:.1f} | `{r['variant']}` |")
    return "\n".join(lines)


def machine() -> dict:
    """The CPU model, threads and a 2048 x 2048 float32 matmul's GFLOP/s, beside every time recorded."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        a @ b
    started = time.perf_counter()
    for _ in range(10):
        a @ b
    return {"cpu": cpu, "threads": torch.get_num_threads(),
            "matmul_gflops": round(2 * 2048 ** 3 * 10 / (time.perf_counter() - started) / 1e9, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--out", help="results JSON (runs are appended as they finish)")
    parser.add_argument("--ablations", action="store_true", help="run the settings' ablations instead")
    parser.add_argument("--report", nargs="+", help="print the tables of results JSONs (the runs, then ablations) and stop")
    args = parser.parse_args()
    if args.report:
        documents = [json.loads(Path(path).read_text()) for path in args.report]
        results = [r for d in documents for r in d["runs"] if "variant" not in r]
        ablations = [r for d in documents for r in d["runs"] if "variant" in r]
        datasets = [d for d in DATASETS if any(r["dataset"] == d for r in results)]
        print(table(results, datasets) + "\n" + ratios(results, datasets))
        if ablations:
            print(ablation_table(ablations, results))
        return
    torch.set_num_threads(2)
    document = {"machine": machine(),
                "command": " ".join(["python benchmarks/dataset_experiments.py", *(f"--{k} {' '.join(map(str, v))}"
                                     if isinstance(v, list) else "" for k, v in vars(args).items() if v)]),
                "runs": []}
    if args.ablations:
        document["runs"] = run_ablations(args.datasets, args.models)
        if args.out:
            write_json_atomic(args.out, document)
        return
    for dataset in args.datasets:
        document["runs"] += run_baselines(dataset, 256)
        for model in args.models:
            for seed in args.seeds:
                result = run_model(dataset, model, seed, args.set)
                document["runs"].append(result)
                print(f"{dataset} {model} seed {seed}: best AVG {100 * result['best'][AVERAGE]:.1f} at iteration "
                      f"{result['best_iteration']}, {result['seconds']:.0f} s", flush=True)
                if args.out:
                    write_json_atomic(args.out, document)
    if args.out:
        write_json_atomic(args.out, document)
    print(table(document["runs"], args.datasets) + "\n" + ratios(document["runs"], args.datasets))


if __name__ == "__main__":
    main()
