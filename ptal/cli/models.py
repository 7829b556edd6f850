"""``ptal train``, ``ptal infer`` and ``ptal demo``, for every model family (``model.name`` of a config)."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import torch

from ptal.cli import UsageError, main_process

FAMILY_NAMES = ("lacp", "apn")
# What ``ptal demo`` changes from each family's defaults: small features and networks, a short run (2 CPU cores).
# D = 256: above the synthetic benchmark's latent size (138), below which its features lose information.
DEMO_OVERRIDES = {
    "lacp": ["data.feature_dim=256", "model.hidden=256", "train.iterations=600", "train.eval_every=200",
             "train.log_every=20"],
    "apn": ["data.feature_dim=256", "model.embed_dim=128", "model.bdm_hidden=128", "model.pem_dim=64",
            "model.num_samples=16", "proposals.max_proposals=300", "proposals.train_per_window=16",
            "train.iterations=600", "train.eval_every=200", "train.log_every=20",
            "train.lr=1e-3"],  # 1e-4 barely moves in 600 steps
}
# What ``ptal demo --dataset`` changes on top of those, per dataset (README, "Datasets": how each was chosen).
# GTEA and BEOID are small: a larger APN, and LACP at APN's demo rate (1e-4 barely moves BEOID's 34 classes).
_SMALL_APN = ["model.embed_dim=256", "model.bdm_hidden=128", "model.pem_dim=128", "model.num_samples=32"]
# ActivityNet's twins: a tenth of each split by default (1 003 + 493 videos of 1.3), ``--full`` for all of them.
ACTIVITYNET_DEMO_SUBSET = 0.1
DEMO_DATASET_OVERRIDES = {"thumos14": {"lacp": [], "apn": []},
                          "gtea": {"lacp": ["train.lr=1e-3"], "apn": _SMALL_APN},
                          "beoid": {"lacp": ["train.lr=1e-3"], "apn": _SMALL_APN},
                          "activitynet13": {"lacp": ["train.lr=1e-3"], "apn": []},
                          "activitynet12": {"lacp": ["train.lr=1e-3"], "apn": []}}
# Measured on an idle 2-core machine (README): what ``ptal demo`` announces. ActivityNet 1.2's: 1.3's scaled by its
# size (not measured).
DEMO_MINUTES = {"thumos14": {"lacp": 2.5, "apn": 1.5}, "gtea": {"lacp": 1.0, "apn": 1.5},
                "beoid": {"lacp": 1.0, "apn": 2.0}, "activitynet13": {"lacp": 1.5, "apn": 1.5},
                "activitynet12": {"lacp": 1.0, "apn": 1.0}}
# Settings a resumed run may change: how long it goes on and how it reports, nothing that changes its course.
RESUMABLE_KEYS = ("train.iterations", "train.eval_every", "train.log_every", "train.progress", "train.out_dir")
# What a run of ptal demo leaves in each model's folder (--overwrite removes exactly these).
DEMO_FILES = ("log.jsonl", "last.pt", "best.pt", "predictions.json", "timeline.png")
DEFAULT_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def add_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a model (LACP or APN, by model.name) on a benchmark's synthetic twin or real features",
        description="Train with a YAML config and key=value overrides over the defaults (every key has one: "
                    "--print-config shows them); model.name (lacp, apn) picks the family and data.dataset "
                    "(thumos14, gtea, beoid, activitynet13, activitynet12) the benchmark, from the config file or an "
                    "override; data=PATH reads real features in SF-Net's layout (PATH/<Name>-I3D-JOINTFeatures.npy, "
                    "PATH/<Name>-Annotations/), the LACP layout (PATH/features/<split>/{rgb,flow}/<video>.npy), or one "
                    "PATH/<video>.npy per video with data.annotations=ANNOTATIONS.json (ActivityNet's). --resume CHECKPOINT continues a run with "
                    "the configuration stored in it (only train.iterations, eval_every, log_every, progress and "
                    "out_dir may change).")
    train.add_argument("--config", help="YAML config, e.g. configs/apn_thumos14.yaml (default: the built-in defaults "
                                        "of model.name, lacp if not given)")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.iterations=600 data=synthetic")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue the run of this checkpoint (its last.pt)")
    train.add_argument("--print-config", action="store_true",
                       help="print the whole configuration as YAML (after comment lines on the dataset and the settings "
                            "it changes) and stop")
    train.add_argument("--device", default=DEFAULT_DEVICE, help=f"cpu, cuda, cuda:N (default here: {DEFAULT_DEVICE})")
    train.set_defaults(func=_train)

    infer = subparsers.add_parser(
        "infer", help="predictions and a timeline picture from a checkpoint",
        description="Without --out and --video, writes the predictions on the evaluation videos next to the "
                    "checkpoint (predictions_<checkpoint name>.json); --video draws that video's timeline "
                    "(to --plot, or timeline_<video>.png next to the checkpoint).")
    infer.add_argument("--checkpoint", required=True)
    infer.add_argument("--video", help="a video id to draw (training or evaluation video)")
    infer.add_argument("--plot", metavar="PNG", help="where to draw the timeline of --video")
    infer.add_argument("--out", metavar="JSON", help="predictions on the evaluation videos (ActivityNet format)")
    infer.add_argument("--device", default=DEFAULT_DEVICE, help=f"cpu, cuda, cuda:N (default here: {DEFAULT_DEVICE})")
    infer.set_defaults(func=_infer)

    demo = subparsers.add_parser("demo", help="train LACP and APN briefly on a benchmark's synthetic twin, "
                                              "evaluate, print their mAP side by side and draw timelines "
                                              "(THUMOS14 about 4 minutes on 2 cores, GTEA and BEOID under 3)")
    demo.add_argument("--model", choices=("both", *FAMILY_NAMES), default="both")
    demo.add_argument("--dataset", choices=tuple(DEMO_DATASET_OVERRIDES), default="thumos14",
                      help="the benchmark whose twin trains (default thumos14)")
    demo.add_argument("--full", action="store_true",
                      help=f"ActivityNet: every video of the twin (default: the first {ACTIVITYNET_DEMO_SUBSET:g} of "
                           f"each split, data.subset)")
    demo.add_argument("--out", help="run folder, one subfolder per model (default: runs/demo, or runs/demo-2, "
                                    "-3, ... when it holds a run)")
    demo.add_argument("--overwrite", action="store_true", help="replace the run found in --out")
    demo.add_argument("--device", default=DEFAULT_DEVICE, help=f"cpu, cuda, cuda:N (default here: {DEFAULT_DEVICE})")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                      help="for every model (e.g. train.iterations=200), or for one: apn.train.iterations=200")
    demo.set_defaults(func=_demo)


# ---- configs ----------------------------------------------------------------------------------------------
def stored_config(checkpoint: dict, path: str):
    """The typed configuration a checkpoint holds (its family from ``model.name``)."""
    from ptal.models.registry import method_class
    from ptal.train import CheckpointError, config_from_dict

    stored = checkpoint["config"]
    model = stored.get("model") if isinstance(stored, dict) else None
    if not isinstance(model, dict):
        raise CheckpointError(f"checkpoint {path}: its config has no model section")
    if model.get("name") not in FAMILY_NAMES:
        raise CheckpointError(f"checkpoint {path}: its config's model.name is {model.get('name')!r:.40}, not one of "
                              f"{', '.join(FAMILY_NAMES)}")
    family = method_class(model["name"])
    return config_from_dict(family.config_class, stored, source=f"checkpoint {path}")


def resumed_config(checkpoint: dict, path: str, config_path: str | None, overrides: list[str]):
    """The configuration stored in a checkpoint, with the file and overrides applied where they may change
    it (:data:`RESUMABLE_KEYS`); any other difference is an error naming the key."""
    from ptal.models.registry import expanded_overrides
    from ptal.train import config_to_dict, load_typed_config

    stored = stored_config(checkpoint, path)
    config = load_typed_config(stored, config_path, expanded_overrides(overrides))
    before, after = _flat(config_to_dict(stored)), _flat(config_to_dict(config))
    for key, value in after.items():
        if value != before[key] and key not in RESUMABLE_KEYS:
            raise UsageError(f"--resume {path}: {key} is {before[key]!r} in the checkpoint, {value!r} here; a resumed "
                             f"run keeps its configuration except {', '.join(RESUMABLE_KEYS)}: drop that setting, "
                             f"or start a new run (without --resume) to change it")
    return config


def _flat(section: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in section.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return flat


def checked_device(name: str) -> torch.device:
    """``--device`` as a torch device, refused at once when this machine cannot use it."""
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise UsageError(f"--device {name}: not a device ({error}); use cpu, cuda or cuda:N") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}, no GPU visible"
            raise UsageError(f"--device {name}: CUDA is not available here (torch {torch.__version__}, {build}); "
                             f"use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise UsageError(f"--device {name}: ptal runs on cpu or cuda")
    return device


# ---- train -------------------------------------------------------------------------------------------------
def _run(config, device, resume: str | None = None):
    from ptal.models import build_method
    from ptal.train import config_to_dict, train

    if resume is None:
        method = build_method(config, device)
    else:
        from ptal.train.loop import check_select_by

        with errors_name_the_checkpoint(resume):
            method = build_method(config, device)
            check_select_by(method, config.train)
    started = time.time()
    summary = train(method, config.train, resume=resume, config=config_to_dict(config))
    return method, summary, time.time() - started


def _train(args) -> int:
    from ptal.models import method_config
    from ptal.train import config_yaml, init_distributed
    from ptal.train.lock import run_lock
    from ptal.train.loop import check_out_dir_is_free

    if args.resume:
        checkpoint = _checkpoint_to_resume(args.resume)
        config = resumed_config(checkpoint, args.resume, args.config, args.overrides)
        if checkpoint["iteration"] == config.train.iterations and not args.print_config:
            print(f"{args.resume}: the run is complete ({checkpoint['iteration']} of train.iterations="
                  f"{config.train.iterations}); give train.iterations=N to train it further")
            return 0
    else:
        config = method_config(args.config, args.overrides)
    if args.print_config:
        from ptal.data.datasets import dataset_spec

        lines = dataset_spec(config.data.dataset).describe(config.model.name)
        print("".join(f"# {line}\n" for line in lines) + config_yaml(config), end="")
        return 0
    device = checked_device(args.device)
    context = init_distributed()
    # Process 0 holds the run folder's lock from here to the end (before the data is built: a second run
    # into the same folder is refused at once).
    with run_lock(config.train.out_dir) if context.is_main else contextlib.nullcontext():
        if not args.resume and context.is_main:
            check_out_dir_is_free(config.train.out_dir)
        _, summary, seconds = _run(config, device, args.resume)
    _print_summary(summary, seconds)
    return 0


def _checkpoint_to_resume(path: str) -> dict:
    """The checkpoint of ``--resume``; a missing ``last.pt`` next to a log says what to do."""
    from ptal.train import load_checkpoint
    from ptal.train.loop import LAST_CHECKPOINT
    from ptal.train.run_log import LOG_NAME

    path_ = Path(path)
    if not path_.exists() and path_.name == LAST_CHECKPOINT and (path_.parent / LOG_NAME).is_file():
        raise UsageError(f"--resume {path}: no such file: the run in {path_.parent} stopped before its first "
                         f"checkpoint; start it again with the command that started it (without --resume)")
    return load_checkpoint(path)


def _print_summary(summary: dict, seconds: float) -> None:
    print(f"trained {summary['final_iteration']} iterations in {seconds:.0f} s; best {summary['select_by']} = "
          f"{summary['best_value']} at iteration {summary['best_iteration']} ({summary['best_checkpoint']})")


# ---- infer -------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def errors_name_the_checkpoint(checkpoint_path: str):
    """Inside the block, a ValueError (a checkpoint's config value the data or the method refuses) becomes a
    CheckpointError naming the checkpoint it came from."""
    from ptal.train import CheckpointError

    try:
        yield
    except CheckpointError:
        raise
    except ValueError as error:
        raise CheckpointError(f"checkpoint {checkpoint_path}: {error}") from error


def load_method(checkpoint_path: str, device: str | torch.device = "cpu"):
    """The method of a checkpoint (its family and configuration from the checkpoint), with its weights
    and state. The checkpoint is read and checked before any data is built."""
    from ptal.models import build_method
    from ptal.train import CheckpointError, load_checkpoint
    from ptal.train.checkpoint import check_like

    checkpoint = load_checkpoint(checkpoint_path)
    with errors_name_the_checkpoint(checkpoint_path):
        method = build_method(stored_config(checkpoint, checkpoint_path), device)
    check_like(method.model.state_dict(), checkpoint["model"], checkpoint_path, "model")
    check_like(method.state_dict(), checkpoint["method"], checkpoint_path, "method")
    try:
        method.model.load_state_dict(checkpoint["model"])
        method.load_state_dict(checkpoint["method"])
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as error:
        raise CheckpointError(f"checkpoint {checkpoint_path}: its state does not fit the model and method of its "
                              f"config ({type(error).__name__}: {error})") from error
    return method


def _infer(args) -> int:
    from ptal.data import write_predictions
    from ptal.viz import draw_timeline

    if args.plot and not args.video:
        raise UsageError("--plot needs --video (the video to draw)")
    device = checked_device(args.device)
    checkpoint = Path(args.checkpoint)
    out = args.out
    if out is None and args.video is None:
        out = str(checkpoint.parent / f"predictions_{checkpoint.stem}.json")
    method = load_method(args.checkpoint, device)
    if out:
        predictions = method.predictions()
        if main_process():
            write_predictions(out, predictions)
        print(f"predictions of {len(method.eval_items)} {method.config.data.eval_split} videos: {out}")
    if args.video:
        plot = args.plot or str(checkpoint.parent / f"timeline_{args.video}.png")  # video ids are file names
        timeline = method.timeline(args.video)
        if main_process():
            draw_timeline(timeline, plot)
        print(f"timeline of {args.video}: {plot}")
    return 0


# ---- demo --------------------------------------------------------------------------------------------------
def _split_overrides(overrides: list[str], models: list[str]) -> dict[str, list[str]]:
    """Overrides per model: ``apn.KEY=V`` for APN only, ``KEY=V`` for every model."""
    split = {model: [] for model in models}
    for override in overrides:
        head, _, rest = override.partition(".")
        if head in FAMILY_NAMES:
            if head in split:
                split[head].append(rest)
        else:
            for model in models:
                split[model].append(override)
    return split


def _holds_run(folder: Path, models: list[str]) -> bool:
    return any((folder / model / name).exists() for model in models for name in DEMO_FILES)


def _demo_folder(out: str | None, overwrite: bool, models: list[str]) -> Path:
    """The demo's run folder: ``--out`` (refused when it holds a run, unless ``--overwrite``: then that run's
    files go), or the first of runs/demo, runs/demo-2, ... that holds none."""
    if out is None and not overwrite:
        folder, number = Path("runs/demo"), 1
        while _holds_run(folder, models):
            number += 1
            folder = Path(f"runs/demo-{number}")
        if number > 1:
            print(f"ptal demo: runs/demo holds a run; this one goes to {folder} (--overwrite replaces runs/demo)")
        return folder
    folder = Path(out or "runs/demo")
    if _holds_run(folder, models):
        if not overwrite:
            raise UsageError(f"--out {folder} already holds a demo run: add --overwrite to replace it, or choose "
                             f"another --out")
        for model in models:
            for name in DEMO_FILES:
                (folder / model / name).unlink(missing_ok=True)
    return folder


def _demo(args) -> int:
    from ptal.data import dataset_spec, write_predictions
    from ptal.eval import detection_map
    from ptal.models import method_config
    from ptal.viz import draw_timeline

    models = list(FAMILY_NAMES) if args.model == "both" else [args.model]
    device = checked_device(args.device)
    overrides = _split_overrides(args.overrides, models)
    if args.full and dataset_spec(args.dataset).twin is None:
        raise UsageError(f"--full applies to ActivityNet's twins; {args.dataset}'s demo uses every video already")
    subset = [f"data.subset={ACTIVITYNET_DEMO_SUBSET}"] if dataset_spec(args.dataset).twin and not args.full else []
    configs = {model: method_config(None, [f"model.name={model}", f"data.dataset={args.dataset}", *subset,
                                           *DEMO_OVERRIDES[model], *DEMO_DATASET_OVERRIDES[args.dataset][model],
                                           *overrides[model]], model)
               for model in models}  # every override checked before the first model trains
    folder = _demo_folder(args.out, args.overwrite, models)
    minutes = sum(DEMO_MINUTES[args.dataset][model] for model in models)
    print(f"ptal demo: {' and '.join(m.upper() for m in models)}, about {minutes:.0f} minutes on 2 CPU cores at the "
          f"default settings; run folder {folder}")
    results = {}
    for model, config in configs.items():
        out = folder / model
        config.train.out_dir = str(out)
        print(f"ptal demo: {model.upper()} on the synthetic {dataset_spec(args.dataset).title}-structured benchmark "
              f"(D = {config.data.feature_dim}, {config.train.iterations} iterations of "
              f"{config.data.batch_size} {'windows' if model == 'apn' else 'videos'})")
        method, summary, seconds = _run(config, device)
        _print_summary(summary, seconds)
        predictions = method.predictions()
        if main_process():
            write_predictions(out / "predictions.json", predictions)
        results[model] = detection_map(method.eval_ground_truth, predictions, method.tiou_thresholds)
        print(results[model].table())
        # A short evaluation video with a few instances (a readable picture), drawn with the final model.
        few = [item for item in method.eval_items if 3 <= len(item.segment_labels) <= 8] or method.eval_items
        video = min(few, key=lambda item: len(item.features)).video_id
        timeline = method.timeline(video)
        if main_process():
            draw_timeline(timeline, out / "timeline.png")
        print(f"predictions: {out / 'predictions.json'}; timeline of {video}: {out / 'timeline.png'}; "
              f"log: {out / 'log.jsonl'}; checkpoints: {out / 'best.pt'}, {out / 'last.pt'}")
    if len(results) > 1:
        print(side_by_side(results))
    return 0


def side_by_side(results: dict) -> str:
    """One row per model: mAP (%) at each tIoU threshold and the averages."""
    first = next(iter(results.values()))
    averages = list(first.averages)
    header = ["model", *(f"@{t:g}" for t in first.tiou_thresholds), *(f"AVG {name}" for name in averages)]
    rows = [[name.upper(), *(f"{100 * m:.1f}" for m in result.map),
             *(f"{100 * result.averages[name]:.1f}" for name in averages)] for name, result in results.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in [header, *rows])
