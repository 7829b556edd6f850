"""ActivityNet at full scale (README, "ActivityNet"): on the ActivityNet 1.3 twin (10 024 training and 4 926
validation videos of 100 snippets), the time of

- loading the dataset (the twin's cache generated the first time, memory-mapped after), and one epoch of data
  loading (every training video read from its map into float32 batches of 16, as a training step does);
- one full pseudo-label refresh over the 10 024 training videos: APN's constrained k-medoids (the op alone, on
  the twin's features, and the method's whole refresh with its network), LACP's sequence search (select_seeds
  and the exact optimal sequence search alone, and the method's whole search with its network);
- the evaluation of a 4 926-video result file of 100 predictions per video (492 600) from JSON, by ptal and, with
  ``--official-python``/``--lacp-release``, by the official ActivityNet code (the LACP release's copy of it, run by
  another interpreter that has pandas and joblib), side by side, same numbers asserted;
- with ``--train-iterations N``: a short training run of each model at the given D (N iterations, a search or a
  refresh every 10, an evaluation at the end), its wall time and peak memory (VmHWM, and the anonymous memory at
  the end: the memory-mapped features are file pages the kernel can drop).

    python benchmarks/activitynet_scale.py --dim 256 --out benchmarks/results/activitynet_scale_d256.json \\
        --official-python /path/to/python-with-pandas --lacp-release /path/to/Learning-Action-Completeness-from-Points
    python benchmarks/activitynet_scale.py --dim 2048 --train-iterations 11 --skip-eval --out ...
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from benchmarks.dataset_experiments import machine
from ptal.data.atomic import write_json_atomic
from ptal.data.datasets import DATASETS
from ptal.eval import detection_map
from ptal.models import build_method, method_config
from ptal.models.apn.pseudo_labels import kmedoids_pseudo_labels, point_rows
from ptal.models.common import load_dataset
from ptal.ops.internal import optimal_sequence_search, select_seeds
from ptal.train import train
from tests.eval.workloads import synthetic_predictions

BATCH = 16  # videos per refresh, search and loading step (pseudo.batch_videos, search.batch_videos, data.batch_size)


def memory() -> dict:
    """Peak resident memory (VmHWM) and the resident anonymous and file-backed memory now, GiB."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    kib = lambda key: int(status[key].split()[0]) / 2 ** 20  # noqa: E731
    return {"peak_rss_gib": round(kib("VmHWM"), 2), "anon_gib": round(kib("RssAnon"), 2),
            "file_gib": round(kib("RssFile"), 2)}


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def blocks(count: int) -> list[range]:
    return [range(first, min(first + BATCH, count)) for first in range(0, count, BATCH)]


def epoch_of_loading(items) -> None:
    for block in blocks(len(items)):
        pad_sequence([items[i].features for i in block], batch_first=True).float()


def kmedoids_op(items, clustering) -> int:
    """APN's k-medoids over every video (the op on the input features, as pseudo.features=input); instances."""
    found = 0
    for block in blocks(len(items)):
        features = pad_sequence([items[i].features for i in block], batch_first=True).float()
        lengths = torch.tensor([len(items[i].features) for i in block])
        points = [point_rows(items[i].point_labels) for i in block]
        found += len(kmedoids_pseudo_labels(features, lengths, points, block.start, **clustering).instances)
    return found


def cas_of_every_video(method):
    """LACP's CAS of every training video (eval mode), per block, with what the search takes."""
    method.model.eval()
    inputs = []
    with torch.no_grad():
        for block in blocks(len(method.train_items)):
            batch = method._training_batch(list(block))
            out = method.model(batch["features"], batch["lengths"], batch["video_labels"])
            inputs.append((out.cas, batch["points"], batch["lengths"], batch["video_labels"]))
    return inputs


def sequence_search_op(inputs) -> int:
    labelled = 0
    for cas, points, lengths, video_labels in inputs:
        act, bkg = select_seeds(cas, points, lengths)
        found, _ = optimal_sequence_search(cas, act, bkg, video_labels, lengths, method="exact")
        labelled += int(found.sum())
    return labelled


def ground_truth_json(annotations, split: str) -> dict:
    """The twin's ``split`` as an ActivityNet ground-truth file."""
    truth, database = annotations.ground_truth, {}
    for video_id in annotations.splits[split]:
        rows = truth.of_video(video_id)
        database[video_id] = {"subset": split, "duration": annotations.durations[video_id],
                              "annotations": [{"segment": [float(s), float(e)], "label": truth.class_names[c]}
                                              for s, e, c in zip(rows.start, rows.end, rows.label)]}
    return {"version": "ActivityNet 1.3 twin", "taxonomy": [], "database": database}


OFFICIAL = """
import json, sys, time
import numpy as np
np.float = float  # the code predates NumPy 2
sys.path.insert(0, sys.argv[1])
import joblib
from eval.eval_detection import ANETdetection
started = time.perf_counter()
with joblib.parallel_backend("multiprocessing"):
    detection = ANETdetection(sys.argv[2], sys.argv[3], tiou_thresholds=np.linspace(0.5, 0.95, 10), subset="validation",
                              verbose=False, check_status=False)
    detection.evaluate()
print(json.dumps({"seconds": time.perf_counter() - started, "map": detection.mAP.tolist()}))
"""


def evaluation(annotations, official_python, release, folder: Path) -> dict:
    gt_file, prediction_file = folder / "gt.json", folder / "predictions.json"
    ground_truth = ground_truth_json(annotations, "validation")
    gt_file.write_text(json.dumps(ground_truth))
    predictions = synthetic_predictions(ground_truth, "validation", 100, seed=0)
    prediction_file.write_text(json.dumps(predictions))
    count = sum(len(rows) for rows in predictions["results"].values())
    thresholds = DATASETS["activitynet13"].tiou_thresholds
    detection_map(str(gt_file), str(prediction_file), thresholds, subset="validation")  # JIT outside the timing
    times, result = [], None
    for _ in range(3):
        result, seconds = timed(detection_map, str(gt_file), str(prediction_file), thresholds, "validation")
        times.append(seconds)
    record = {"predictions": count, "megabytes": round(prediction_file.stat().st_size / 2 ** 20, 1),
              "ptal_s": round(min(times), 3), "ptal_map": result.map.tolist(),
              "ptal_average": result.averages["0.5:0.95"]}
    print(f"evaluation of {count} predictions ({record['megabytes']} MB JSON): ptal {record['ptal_s']:.3f} s, "
          f"AVG {100 * record['ptal_average']:.3f}", flush=True)
    if official_python and release:
        run = subprocess.run([official_python, "-c", OFFICIAL, release, str(gt_file), str(prediction_file)],
                             capture_output=True, text=True, check=True)
        official = json.loads(run.stdout.strip().splitlines()[-1])
        np.testing.assert_allclose(official["map"], result.map, rtol=0, atol=1e-12)
        record.update(official_s=round(official["seconds"], 2), official_map=official["map"],
                      speedup=round(official["seconds"] / record["ptal_s"], 1))
        print(f"official ActivityNet code: {official['seconds']:.2f} s, the same mAP at every threshold (|diff| <= "
              f"1e-12): ptal {record['speedup']}x faster", flush=True)
    return record


def training_run(model: str, dim: int, iterations: int, folder: Path, subset: float) -> dict:
    config = method_config(None, [f"model.name={model}", "data.dataset=activitynet13", f"data.feature_dim={dim}",
                                  f"data.subset={subset}",
                                  f"train.iterations={iterations}", f"train.eval_every={iterations}",
                                  "train.progress=false", f"train.out_dir={folder / model}"])
    (method, seconds_build) = timed(build_method, config)
    summary, seconds = timed(train, method, config.train)
    record = {"model": model, "dim": dim, "iterations": iterations, "build_s": round(seconds_build, 1),
              "train_s": round(seconds, 1), **memory(), "best": summary["best_value"]}
    print(f"{model.upper()} at D = {dim}: built in {seconds_build:.1f} s, {iterations} iterations (searches or "
          f"refreshes every 10, one evaluation of 4 926 videos) in {seconds:.1f} s; memory {memory()}", flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=256, help="feature size D of the twin (default 256)")
    parser.add_argument("--official-python", help="a Python with pandas and joblib, for the official evaluation code")
    parser.add_argument("--lacp-release", help="a clone of the LACP release (its eval/ is the official code)")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument("--train-iterations", type=int, default=0, help="also a short training run of each model")
    parser.add_argument("--subset", type=float, default=1.0, help="data.subset (a quick check of this script)")
    parser.add_argument("--out", help="results JSON")
    args = parser.parse_args()
    record = {"machine": machine(), "dim": args.dim}
    print(record["machine"], flush=True)
    config = method_config(None, ["model.name=lacp", "data.dataset=activitynet13", f"data.feature_dim={args.dim}", f"data.subset={args.subset}",
                                  "model.hidden=256"])
    (annotations, train_items, eval_items), seconds = timed(load_dataset, config.data)
    _, seconds_again = timed(load_dataset, config.data)
    record["loading"] = {"videos": [len(train_items), len(eval_items)], "first_s": round(seconds, 1),
                         "cached_s": round(seconds_again, 1), **memory()}
    _, seconds = timed(epoch_of_loading, train_items)
    record["loading"]["epoch_s"] = round(seconds, 2)
    print(f"loading {len(train_items)} + {len(eval_items)} videos at D = {args.dim}: {record['loading']}", flush=True)

    if not args.skip_refresh:
        apn = method_config(None, ["model.name=apn", "data.dataset=activitynet13", f"data.feature_dim={args.dim}", f"data.subset={args.subset}"])
        instances, seconds = timed(kmedoids_op, train_items, apn.pseudo.clustering())
        record["kmedoids_op_s"] = round(seconds, 2)
        print(f"k-medoids over {len(train_items)} videos (input features, D = {args.dim}): {seconds:.2f} s, "
              f"{instances} pseudo instances", flush=True)
        lacp = build_method(config)
        inputs = cas_of_every_video(lacp)
        labelled, seconds = timed(sequence_search_op, inputs)
        record["sequence_search_op_s"] = round(seconds, 2)
        print(f"select_seeds + exact sequence search over {len(train_items)} videos: {seconds:.2f} s "
              f"({labelled} labelled snippet-classes)", flush=True)
        _, seconds = timed(lacp.search)
        record["lacp_search_s"] = round(seconds, 2)
        apn_method = build_method(method_config(None, ["model.name=apn", "data.dataset=activitynet13",
                                                       f"data.feature_dim={args.dim}", "model.embed_dim=128",
                                                       "model.bdm_hidden=128", "model.pem_dim=64"]))
        _, seconds = timed(apn_method.refresh_pseudo_labels)
        record["apn_refresh_s"] = round(seconds, 2)
        print(f"whole methods (network included): LACP search {record['lacp_search_s']} s, APN refresh "
              f"{record['apn_refresh_s']} s (mixed features, embed_dim 128)", flush=True)
        del lacp, apn_method, inputs
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_eval:
            record["evaluation"] = evaluation(annotations, args.official_python, args.lacp_release, Path(folder))
        if args.train_iterations:
            del train_items, eval_items
            record["training"] = [training_run(model, args.dim, args.train_iterations, Path(folder), args.subset)
                                  for model in ("lacp", "apn")]
    record["memory_end"] = memory()
    if args.out:
        write_json_atomic(args.out, record)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    sys.exit(main())
