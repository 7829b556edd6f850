"""``ptal train``, ``ptal infer`` and ``ptal demo``, for every model family (``model.name`` of a config)."""
from __future__ import annotations

import copy
import importlib
import time
from pathlib import Path

import torch
import yaml

# model.name -> the module of its Method class and DEFAULTS.
FAMILIES = {"lacp": ("ptal.models.lacp.method", "LacpMethod"), "apn": ("ptal.models.apn.method", "ApnMethod")}
# What ``ptal demo`` changes from each family's defaults: small features and networks, a short run (2 CPU cores).
# D = 256: above the synthetic benchmark's latent size (138), below which its features lose information.
DEMO_OVERRIDES = {
    "lacp": {"data": {"feature_dim": 256}, "model": {"hidden": 256},
             "train": {"iterations": 600, "eval_every": 200, "log_every": 20}},
    "apn": {"data": {"feature_dim": 256}, "model": {"embed_dim": 128, "bdm_hidden": 128, "pem_dim": 64, "num_samples": 16},
            "proposals": {"max_proposals": 300, "train_per_window": 16},
            "train": {"iterations": 600, "eval_every": 200, "log_every": 20, "lr": 1e-3}},  # 1e-4 barely moves in 600 steps
}
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def add_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a model (LACP or APN, by model.name) on the embedded synthetic benchmark or real features",
        description="Train with a YAML config (every key defaulted) and key=value overrides; model.name (lacp, apn) "
                    "picks the family, from the config file or an override; data=PATH reads real features in the "
                    "LACP layout (PATH/features/{train,test}/{rgb,flow}/<video>.npy).")
    train.add_argument("--config", help="YAML config, e.g. configs/lacp_thumos14.yaml or configs/apn_thumos14.yaml "
                                        "(default: the built-in defaults of model.name, lacp if not given)")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.iterations=600 data=synthetic")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue the run of this checkpoint (its last.pt)")
    train.add_argument("--device", default=DEVICE)
    train.set_defaults(func=_train)

    infer = subparsers.add_parser("infer", help="predictions and a timeline picture from a checkpoint")
    infer.add_argument("--checkpoint", required=True)
    infer.add_argument("--video", help="a video id to draw (training or evaluation video)")
    infer.add_argument("--plot", metavar="PNG", help="timeline picture of --video")
    infer.add_argument("--out", metavar="JSON", help="predictions on the evaluation videos (ActivityNet format)")
    infer.add_argument("--device", default=DEVICE)
    infer.set_defaults(func=_infer)

    demo = subparsers.add_parser("demo", help="train LACP and APN briefly on the embedded synthetic benchmark, "
                                              "evaluate, print their mAP side by side and draw timelines "
                                              "(a few minutes on 2 cores)")
    demo.add_argument("--model", choices=("both", *FAMILIES), default="both")
    demo.add_argument("--out", default="runs/demo", help="run folder, one subfolder per model (must not hold a run yet)")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                      help="for every model (e.g. train.iterations=200), or for one: apn.train.iterations=200")
    demo.set_defaults(func=_demo)


def family(name: str):
    """(Method class, DEFAULTS) of a model family."""
    if name not in FAMILIES:
        raise SystemExit(f"ptal: unknown model.name {name!r}; known: {', '.join(FAMILIES)}")
    module_name, class_name = FAMILIES[name]
    module = importlib.import_module(module_name)
    return getattr(module, class_name), module.DEFAULTS


def _model_name(config_path: str | None, overrides: list[str], default: str) -> str:
    """model.name from the overrides, else the config file, else ``default``."""
    for override in reversed(overrides):
        if override.startswith("model.name="):
            return override.split("=", 1)[1]
    if config_path is not None:
        try:
            document = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            document = None  # load_config reports it
        name = ((document or {}).get("model") or {}).get("name") if isinstance(document, dict) else None
        if isinstance(name, str):
            return name
    return default


def method_config(config_path: str | None, overrides: list[str], base_overrides: dict | None = None,
                  default_model: str = "lacp") -> dict:
    """The run configuration: the family's defaults (changed by ``base_overrides``), the file, the overrides."""
    from ptal.train import load_config

    _, family_defaults = family(_model_name(config_path, overrides, default_model))
    defaults = copy.deepcopy(family_defaults)
    for section, values in (base_overrides or {}).items():
        defaults[section].update(values)
    # data=PATH|synthetic is short for data.source=...
    overrides = [f"data.source={o.split('=', 1)[1]}" if o.startswith("data=") else o for o in overrides]
    return load_config(config_path, overrides, defaults)


def _run(config: dict, device: str, resume: str | None = None):
    from ptal.train import TrainSettings, seed_everything, train

    method_class, _ = family(config["model"]["name"])
    settings = TrainSettings.from_config(config["train"])
    seed_everything(settings.seed)
    method = method_class(config, device)
    started = time.time()
    summary = train(method, settings, resume=resume, config=config)
    return method, summary, time.time() - started


def _train(args) -> int:
    config = method_config(args.config, args.overrides)
    _, summary, seconds = _run(config, args.device, args.resume)
    _print_summary(summary, seconds)
    return 0


def _print_summary(summary: dict, seconds: float) -> None:
    print(f"trained {summary['final_iteration']} iterations in {seconds:.0f} s; best {summary['select_by']} = "
          f"{summary['best_value']} at iteration {summary['best_iteration']} ({summary['best_checkpoint']})")


def load_method(checkpoint_path: str, device: str = DEVICE):
    """The method of a checkpoint (its family from the stored config), with its weights and state."""
    from ptal.train import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_path)
    method_class, _ = family(checkpoint["config"]["model"]["name"])
    method = method_class(checkpoint["config"], device)
    method.model.load_state_dict(checkpoint["model"])
    method.load_state_dict(checkpoint["method"])
    return method


def _infer(args) -> int:
    from ptal.data import write_predictions
    from ptal.viz import draw_timeline

    if args.plot and not args.video:
        raise SystemExit("ptal infer: --plot needs --video")
    method = load_method(args.checkpoint, args.device)
    if args.out:
        write_predictions(args.out, method.predictions())
        print(f"predictions of {len(method.eval_items)} videos: {args.out}")
    if args.plot:
        draw_timeline(method.timeline(args.video), args.plot)
        print(f"timeline of {args.video}: {args.plot}")
    return 0


def _split_overrides(overrides: list[str], models: list[str]) -> dict[str, list[str]]:
    """Overrides per model: ``apn.KEY=V`` for APN only, ``KEY=V`` for every model."""
    split = {model: [] for model in models}
    for override in overrides:
        head, _, rest = override.partition(".")
        if head in FAMILIES:
            if head in split:
                split[head].append(rest)
        else:
            for model in models:
                split[model].append(override)
    return split


def _demo(args) -> int:
    from ptal.data import write_predictions
    from ptal.eval import detection_map
    from ptal.viz import draw_timeline

    models = list(FAMILIES) if args.model == "both" else [args.model]
    overrides = _split_overrides(args.overrides, models)
    results = {}
    for model in models:
        base = copy.deepcopy(DEMO_OVERRIDES[model])
        out = Path(args.out) / model
        base["train"]["out_dir"] = str(out)
        config = method_config(None, [f"model.name={model}", *overrides[model]], base, model)
        print(f"ptal demo: {model.upper()} on the synthetic THUMOS14-structured benchmark "
              f"(D = {config['data']['feature_dim']}, {config['train']['iterations']} iterations of "
              f"{config['data']['batch_size']} {'windows' if model == 'apn' else 'videos'}), run folder {out}")
        method, summary, seconds = _run(config, DEVICE)
        _print_summary(summary, seconds)
        predictions = method.predictions()
        write_predictions(out / "predictions.json", predictions)
        results[model] = detection_map(method.eval_ground_truth, predictions)
        print(results[model].table())
        # A short evaluation video with a few instances (a readable picture), drawn with the final model.
        few = [item for item in method.eval_items if 3 <= len(item.segment_labels) <= 8] or method.eval_items
        video = min(few, key=lambda item: len(item.features)).video_id
        draw_timeline(method.timeline(video), out / "timeline.png")
        print(f"predictions: {out / 'predictions.json'}; timeline of {video}: {out / 'timeline.png'}; "
              f"log: {out / 'log.jsonl'}; checkpoints: {out / 'best.pt'}, {out / 'last.pt'}")
    if len(results) > 1:
        print(side_by_side(results))
    return 0


def side_by_side(results: dict) -> str:
    """One row per model: mAP (%) at each tIoU threshold and the averages."""
    first = next(iter(results.values()))
    averages = list(first.averages)
    header = ["model", *(f"@{t:.1f}" for t in first.tiou_thresholds), *(f"AVG {name}" for name in averages)]
    rows = [[name.upper(), *(f"{100 * m:.1f}" for m in result.map),
             *(f"{100 * result.averages[name]:.1f}" for name in averages)] for name, result in results.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in [header, *rows])
