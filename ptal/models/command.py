"""``ptal train``, ``ptal infer`` and ``ptal demo``."""
from __future__ import annotations

import copy
import time
from pathlib import Path

import torch

DEMO_OVERRIDES = {"data": {"feature_dim": 64}, "model": {"hidden": 256},
                  "train": {"iterations": 600, "eval_every": 200, "log_every": 20}}


def add_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a model (LACP) on the embedded synthetic benchmark or real features",
        description="Train with a YAML config (every key defaulted) and key=value overrides; data=PATH reads "
                    "real features in the LACP layout (PATH/features/{train,test}/{rgb,flow}/<video>.npy).")
    train.add_argument("--config", help="YAML config, e.g. configs/lacp_thumos14.yaml (default: built-in defaults)")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.iterations=600 data=synthetic")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue the run of this checkpoint (its last.pt)")
    train.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    train.set_defaults(func=_train)

    infer = subparsers.add_parser("infer", help="predictions and a timeline picture from a checkpoint")
    infer.add_argument("--checkpoint", required=True)
    infer.add_argument("--video", help="a video id to draw (training or evaluation video)")
    infer.add_argument("--plot", metavar="PNG", help="timeline picture of --video")
    infer.add_argument("--out", metavar="JSON", help="predictions on the evaluation videos (ActivityNet format)")
    infer.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    infer.set_defaults(func=_infer)

    demo = subparsers.add_parser("demo", help="train LACP briefly on the embedded synthetic benchmark, evaluate, "
                                              "print the mAP table and draw a timeline (a few minutes on 2 cores)")
    demo.add_argument("--out", default="runs/demo", help="run folder (must not hold a run yet)")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. train.iterations=200")
    demo.set_defaults(func=_demo)


def _method_config(config_path: str | None, overrides: list[str], base_overrides: dict | None = None) -> dict:
    from ptal.models.lacp.method import DEFAULTS
    from ptal.train import load_config

    defaults = copy.deepcopy(DEFAULTS)
    for section, values in (base_overrides or {}).items():
        defaults[section].update(values)
    # data=PATH|synthetic is short for data.source=...
    overrides = [f"data.source={o.split('=', 1)[1]}" if o.startswith("data=") else o for o in overrides]
    return load_config(config_path, overrides, defaults)


def _run(config: dict, device: str, resume: str | None = None):
    from ptal.models.lacp.method import LacpMethod
    from ptal.train import TrainSettings, seed_everything, train

    settings = TrainSettings.from_config(config["train"])
    seed_everything(settings.seed)
    method = LacpMethod(config, device)
    started = time.time()
    summary = train(method, settings, resume=resume, config=config)
    return method, summary, time.time() - started


def _train(args) -> int:
    config = _method_config(args.config, args.overrides)
    _, summary, seconds = _run(config, args.device, args.resume)
    _print_summary(summary, seconds)
    return 0


def _print_summary(summary: dict, seconds: float) -> None:
    print(f"trained {summary['final_iteration']} iterations in {seconds:.0f} s; best {summary['select_by']} = "
          f"{summary['best_value']} at iteration {summary['best_iteration']} ({summary['best_checkpoint']})")


def _load(checkpoint_path: str, device: str):
    from ptal.models.lacp.method import LacpMethod
    from ptal.train import load_checkpoint

    checkpoint = load_checkpoint(checkpoint_path)
    method = LacpMethod(checkpoint["config"], device)
    method.model.load_state_dict(checkpoint["model"])
    method.load_state_dict(checkpoint["method"])
    return method


def _infer(args) -> int:
    from ptal.data import write_predictions
    from ptal.viz import draw_timeline

    if args.plot and not args.video:
        raise SystemExit("ptal infer: --plot needs --video")
    method = _load(args.checkpoint, args.device)
    if args.out:
        write_predictions(args.out, method.predictions())
        print(f"predictions of {len(method.eval_items)} videos: {args.out}")
    if args.plot:
        draw_timeline(method.timeline(args.video), args.plot)
        print(f"timeline of {args.video}: {args.plot}")
    return 0


def _demo(args) -> int:
    from ptal.data import write_predictions
    from ptal.eval import detection_map
    from ptal.viz import draw_timeline

    base = copy.deepcopy(DEMO_OVERRIDES)
    base["train"]["out_dir"] = args.out
    config = _method_config(None, args.overrides, base)
    print(f"ptal demo: LACP on the synthetic THUMOS14-structured benchmark (D = {config['data']['feature_dim']}, "
          f"{config['train']['iterations']} iterations of {config['data']['batch_size']} videos), run folder {args.out}")
    method, summary, seconds = _run(config, "cuda" if torch.cuda.is_available() else "cpu")
    _print_summary(summary, seconds)
    out = Path(args.out)
    predictions = method.predictions()
    write_predictions(out / "predictions.json", predictions)
    print(detection_map(method.eval_ground_truth, predictions).table())
    # A short evaluation video with a few instances (a readable picture), drawn with the final model.
    few = [item for item in method.eval_items if 3 <= len(item.segment_labels) <= 8] or method.eval_items
    video = min(few, key=lambda item: len(item.features)).video_id
    draw_timeline(method.timeline(video), out / "timeline.png")
    print(f"predictions: {out / 'predictions.json'}; timeline of {video}: {out / 'timeline.png'}; "
          f"log: {out / 'log.jsonl'}; checkpoints: {out / 'best.pt'}, {out / 'last.pt'}")
    return 0

