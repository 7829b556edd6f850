"""APN as a trainable method: windows of THUMOS14-structured videos, pseudo labels refreshed by
constrained k-medoids, the three losses, windowed inference and evaluation.

It implements the trainer's ``Method`` interface (``ptal.train``), as ``LacpMethod`` does.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from ptal.data import load_thumos14, window_offsets
from ptal.data.activitynet import Segments
from ptal.eval import detection_map
from ptal.eval.detection import DEFAULT_TIOU_THRESHOLDS
from ptal.models.apn.inference import InferenceSettings, detect, suppress, to_seconds
from ptal.models.apn.losses import LossWeights, bdm_loss, ctr_loss, pem_loss, proposal_targets
from ptal.models.apn.network import ApnNetwork, embed_padded
from ptal.models.apn.pseudo_labels import PseudoLabels, concatenate, kmedoids_pseudo_labels, point_rows
from ptal.models.apn.text import class_text_embeddings
from ptal.models.common import (SeededSampler, detection_metrics, find_video, ground_truth_of, load_videos,
                                video_timeline)
from ptal.models.lacp.network import valid_mask
from ptal.ops.constrained_kmedoids import ACTION_MEDOIDS, BACKGROUND_LAYOUTS, DISTANCES
from ptal.ops.internal import generate_proposals
from ptal.train import unwrap_model
from ptal.viz import Timeline

# Every key of an APN config, with its default (docs/apn.md; "choice" there = a key here).
DEFAULTS = {
    "model": {"name": "apn", "embed_dim": 512, "bdm_hidden": 256, "num_samples": 32, "expand": 0.1,
              "pem_dim": 256, "pem_layers": 2, "pem_heads": 4, "pem_dropout": 0.0},
    "text": {"backend": "learned", "prompts": ["a video of a person doing {}."]},
    "data": {"source": "synthetic", "annotations": None, "feature_dim": 2048, "seed": 0, "difficulty": 1.0,
             "boundary_context": 0.8,
             "eval_split": "test", "batch_size": 16, "window": 256, "stride": 128},
    "proposals": {"d_min": 1, "d_max": 64, "max_proposals": 1000, "train_per_window": 64},
    "pseudo": {"frequency": 10, "features": "mixed", "distance": "cosine", "max_iter": 10, "background": "gap",
               "background_span": 0, "action_medoids": "points", "background_sample": 512, "seed": 0,
               "batch_videos": 16, "ema_decay": 0.99},
    "loss": {"bdm": 1.0, "pem": 1.0, "ctr": 0.1, "tau": 0.1, "ctr_after": 0, "ctr_reduction": "mean"},
    "inference": {"nms": "soft", "nms_threshold": 0.5, "soft_sigma": 0.5, "top_k": 200, "boundary_score": True,
                  "classes_per_proposal": 2, "batch_windows": 16, "pem_chunk": 4096},
    "train": {"iterations": 840, "lr": 1e-4, "betas": [0.9, 0.999], "weight_decay": 0.0,
              "eval_every": 100, "select_by": "average_0.1:0.7", "seed": 0, "out_dir": "runs/apn", "amp": False,
              "log_every": 10, "progress": True},
}
# What pseudo labels are clustered on (ApnMethod.refresh_pseudo_labels).
PSEUDO_FEATURES = ("mixed", "embedded", "ema", "input")
# The pseudo section's keys that are constrained_kmedoids' arguments.
CLUSTERING_KEYS = ("distance", "max_iter", "background", "background_span", "action_medoids", "background_sample",
                   "seed")


@dataclass
class WindowBatch:
    """B training windows padded to the longest, in window coordinates (snippet 0 = the window's first).

    instances: (K, 3) ``[window, start, end]`` every pseudo-labelled instance overlapping the window
        (not clipped), the BDM targets.
    points: (Q, 5) ``[window, snippet, class, start, end]`` the points inside the window with their
        instance; ``points[:, [0, 3, 4, 2]]`` are the instances L_CTR contrasts.
    background: (R, 3) ``[window, start, end]`` the background clusters overlapping the window.
    """

    features: torch.Tensor
    lengths: torch.Tensor
    instances: torch.Tensor
    points: torch.Tensor
    background: torch.Tensor


def cover(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """The (start, stop) windows of a video (``window = 0``: the whole video)."""
    if window == 0:
        return [(0, length)]
    return [(offset, min(offset + window, length)) for offset in window_offsets(length, window, stride)]


def per_window_sample(window: torch.Tensor, cap: int) -> torch.Tensor:
    """Positions of at most ``cap`` entries per window, drawn uniformly with torch's generator."""
    order = torch.argsort(torch.rand(len(window), device=window.device))
    order = order[torch.argsort(window[order], stable=True)]
    sorted_window = window[order]
    rank = torch.arange(len(order), device=window.device) - torch.searchsorted(sorted_window, sorted_window)
    return order[rank < cap]


class ApnMethod:
    """APN on THUMOS14-structured data (the synthetic benchmark by default, or real features in the LACP
    layout with ``data.source=PATH``), on one device."""

    def __init__(self, config: dict, device: str | torch.device = "cpu"):
        self.config, self.device = config, torch.device(device)
        self.rank, self.world_size = 0, 1
        data, model = config["data"], config["model"]
        _check_settings(config)
        annotations = load_thumos14(data["annotations"])
        self.class_names = annotations.class_names
        self.train_items = load_videos(data, annotations, "train")
        self.eval_items = load_videos(data, annotations, data["eval_split"])
        self.train_ground_truth = ground_truth_of(annotations.ground_truth, [i.video_id for i in self.train_items])
        self.eval_ground_truth = ground_truth_of(annotations.ground_truth, [i.video_id for i in self.eval_items])
        self.train_points = [point_rows(item.point_labels) for item in self.train_items]
        self.train_windows = [(video, start, stop) for video, item in enumerate(self.train_items)
                              for start, stop in cover(len(item.features), data["window"], data["stride"])
                              if bool(((self.train_points[video][:, 0] >= start)
                                       & (self.train_points[video][:, 0] < stop)).any())]
        text = class_text_embeddings(config["text"]["backend"], self.class_names, config["text"]["prompts"],
                                     model["pem_dim"])
        self.model = ApnNetwork(self.train_items[0].features.shape[1], len(self.class_names), text,
                                embed_dim=model["embed_dim"], bdm_hidden=model["bdm_hidden"],
                                num_samples=model["num_samples"], expand=model["expand"], pem_dim=model["pem_dim"],
                                pem_layers=model["pem_layers"], pem_heads=model["pem_heads"],
                                pem_dropout=model["pem_dropout"]).to(self.device)
        self.weights = LossWeights(**{k: config["loss"][k] for k in ("bdm", "pem", "ctr", "tau")})
        # pseudo.features=ema: a moving average of the embedding, updated before every iteration.
        self.ema_embed = (copy.deepcopy(self.model.embed).requires_grad_(False)
                          if config["pseudo"]["features"] == "ema" else None)
        self.inference = InferenceSettings(d_min=config["proposals"]["d_min"], d_max=config["proposals"]["d_max"],
                                           max_proposals=config["proposals"]["max_proposals"],
                                           **{k: v for k, v in config["inference"].items() if k != "batch_windows"})
        self.pseudo: PseudoLabels | None = None
        self.pseudo_by_video: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.sampler = SeededSampler(len(self.train_windows), config["train"]["seed"])

    # ---- pseudo labels --------------------------------------------------------------------------------
    @torch.no_grad()
    def refresh_pseudo_labels(self) -> None:
        """Constrained k-medoids of every training video (eval mode) on what ``pseudo.features`` says:
        ``mixed`` (default), the input features and the current embedded features X together (the cosine
        distance is the mean of the two spaces' cosine distances); ``embedded``, X alone (the paper);
        ``ema``, X of a slowly moving average of the embedding; ``input``, the input features alone (once:
        the labels never change)."""
        settings = self.config["pseudo"]
        if settings["features"] == "input" and self.pseudo is not None:
            return
        was_training = self.model.training
        self.model.eval()
        parts = []
        step = settings["batch_videos"]
        for first in range(0, len(self.train_items), step):
            features, lengths = self._padded([item.features for item in self.train_items[first:first + step]])
            parts.append(kmedoids_pseudo_labels(self._clustered(features, lengths), lengths,
                                                self.train_points[first:first + step], first,
                                                **{key: settings[key] for key in CLUSTERING_KEYS}))
        self.model.train(was_training)
        self._set_pseudo_labels(concatenate(parts))

    def _clustered(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The features (B, T, ·) the pseudo labels cluster, from padded input features (B, T, D)."""
        chosen = self.config["pseudo"]["features"]
        if chosen == "input":
            return features
        if chosen == "ema":
            return embed_padded(self.ema_embed, features, lengths).float()
        embedded = self.model(features, lengths).boundary.embedded.float()
        if chosen == "embedded":
            return embedded
        return torch.cat([F.normalize(features, dim=-1), F.normalize(embedded, dim=-1)], -1)

    def _set_pseudo_labels(self, pseudo: PseudoLabels) -> None:
        self.pseudo = pseudo
        self.pseudo_by_video = [pseudo.of_video(video) for video in range(len(self.train_items))]

    # ---- batches --------------------------------------------------------------------------------------
    def _padded(self, sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = torch.tensor([len(s) for s in sequences], device=self.device)
        return pad_sequence(sequences, batch_first=True).to(self.device), lengths

    def _window_batch(self, windows: list[int]) -> WindowBatch:
        features, instances, points, background = [], [], [], []
        for index, window in enumerate(windows):
            video, start, stop = self.train_windows[window]
            features.append(self.train_items[video].features[start:stop])
            rows, bkg = self.pseudo_by_video[video]
            rows = rows[(rows[:, 2] >= start) & (rows[:, 1] < stop)]
            shifted = torch.stack([torch.full_like(rows[:, 0], index), rows[:, 1] - start, rows[:, 2] - start,
                                   rows[:, 3], rows[:, 4] - start], 1)
            instances.append(shifted[:, :3])
            inside = (shifted[:, 4] >= 0) & (shifted[:, 4] < stop - start)
            points.append(shifted[inside][:, [0, 4, 3, 1, 2]])
            bkg = bkg[(bkg[:, 2] >= start) & (bkg[:, 1] < stop)]
            background.append(torch.stack([torch.full_like(bkg[:, 0], index), bkg[:, 1] - start, bkg[:, 2] - start], 1))
        padded, lengths = self._padded(features)
        to = lambda parts: torch.cat(parts).to(self.device)  # noqa: E731
        return WindowBatch(padded, lengths, to(instances), to(points), to(background))

    # ---- the trainer's interface ----------------------------------------------------------------------
    def setup_distributed(self, rank: int, world_size: int) -> None:
        """Under torchrun: every rank draws the same batch and trains on its share of the windows."""
        self.rank, self.world_size = rank, world_size

    def before_iteration(self, iteration: int) -> None:
        """Pseudo labels before iteration 1, then every ``pseudo.frequency`` iterations (1, 1 + R, …)."""
        if self.ema_embed is not None:
            decay = self.config["pseudo"]["ema_decay"]
            with torch.no_grad():
                for average, current in zip(self.ema_embed.parameters(), unwrap_model(self.model).embed.parameters()):
                    average.mul_(decay).add_(current.detach(), alpha=1 - decay)
        if self.pseudo is None or (iteration - 1) % self.config["pseudo"]["frequency"] == 0:
            self.refresh_pseudo_labels()

    def training_loss(self, iteration: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        windows = self.sampler.draw(self.config["data"]["batch_size"])[self.rank::self.world_size]
        batch = self._window_batch(windows)
        proposals_settings = self.config["proposals"]
        chosen = {}

        def training_proposals(boundary):
            proposals, _ = generate_proposals(boundary.start_prob.detach().float(), boundary.end_prob.detach().float(),
                                              batch.lengths, d_min=proposals_settings["d_min"],
                                              d_max=proposals_settings["d_max"],
                                              max_proposals=proposals_settings["max_proposals"])
            targets = proposal_targets(proposals, batch.points, len(self.class_names))
            sample = per_window_sample(proposals[targets.keep, 0], proposals_settings["train_per_window"])
            chosen["targets"] = targets.subset(sample)
            return proposals[chosen["targets"].keep]

        out = self.model(batch.features, batch.lengths, training_proposals)
        valid = valid_mask(batch.lengths, batch.features.shape[1])
        parts = {"bdm": bdm_loss(out.boundary.start_prob, out.boundary.end_prob, batch.instances, valid),
                 "pem": pem_loss(out.evaluation, chosen["targets"])}
        use_ctr = self.weights.ctr and iteration > self.config["loss"]["ctr_after"]
        if use_ctr:
            parts["ctr"] = ctr_loss(out.boundary.embedded, batch.lengths, batch.points[:, [0, 3, 4, 2]],
                                    batch.background, self.weights.tau,
                                    mean=self.config["loss"]["ctr_reduction"] == "mean")
        total = self.weights.bdm * parts["bdm"] + self.weights.pem * parts["pem"]
        if use_ctr:
            total = total + self.weights.ctr * parts["ctr"]
        logged = {name: value.detach() for name, value in parts.items()}
        logged["proposals"] = float(len(chosen["targets"].keep)) / max(len(windows), 1)
        return total, logged

    # ---- inference ------------------------------------------------------------------------------------
    @torch.no_grad()
    def _detections(self, items) -> tuple[Segments, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Detections of whole videos (their windows' proposals merged, NMS, top-k per video), in seconds,
        and every scored proposal before NMS: (video (P,), segments (P, 2) seconds, score (P,))."""
        model = unwrap_model(self.model)
        was_training = model.training
        model.eval()
        windows = [(video, start, stop) for video, item in enumerate(items)
                   for start, stop in cover(len(item.features), self.config["data"]["window"],
                                            self.config["data"]["stride"])]
        found = {"video": [], "start": [], "end": [], "label": [], "score": []}
        step = self.config["inference"]["batch_windows"]
        for first in range(0, len(windows), step):
            chunk = windows[first:first + step]
            features, lengths = self._padded([items[v].features[start:stop] for v, start, stop in chunk])
            detections = detect(model, features, lengths, self.inference)
            window = detections.proposals[:, 0]
            video = torch.tensor([v for v, _, _ in chunk], device=self.device)[window]
            offset = torch.tensor([start for _, start, _ in chunk], device=self.device)[window]
            found["video"].append(video)
            found["start"].append(detections.proposals[:, 1] + offset)
            found["end"].append(detections.proposals[:, 2] + offset)
            found["label"].append(detections.label)
            found["score"].append(detections.score)
        model.train(was_training)
        video, start, end, label, score = (torch.cat(found[key]) for key in ("video", "start", "end", "label", "score"))
        segments = to_seconds(start, end)
        keep, kept_score = suppress(video, segments, label, score, len(self.class_names), self.inference)
        predictions = Segments([item.video_id for item in items], self.class_names,
                               video[keep].cpu().numpy().astype(np.int64), segments[keep, 0].cpu().numpy(),
                               segments[keep, 1].cpu().numpy(), label[keep].cpu().numpy().astype(np.int64),
                               kept_score.cpu().numpy())
        return predictions, (video, segments, score)

    def predictions(self) -> Segments:
        """Detections on the evaluation videos (eval mode), in seconds."""
        return self._detections(self.eval_items)[0]

    def evaluate(self) -> dict[str, float]:
        """mAP on the evaluation split, and the mAP of the current pseudo labels on the training videos
        (``pseudo/...``, every pseudo instance scoring 1)."""
        metrics = detection_metrics(self.eval_ground_truth, self.predictions())
        if self.pseudo is not None:
            metrics.update(self.pseudo_label_metrics())
        return metrics

    def pseudo_label_metrics(self) -> dict[str, float]:
        """``pseudo/mAP@t``: the current pseudo-labelled instances against the training ground truth, and
        ``pseudo/mean_length``: their mean length in snippets (the ground truth's: 6.3 on THUMOS14)."""
        instances = self.pseudo.instances
        return {**detection_metrics(self.train_ground_truth, self._pseudo_segments(), prefix="pseudo/"),
                "pseudo/mean_length": float((instances[:, 2] - instances[:, 1] + 1).double().mean())}

    def pseudo_label_result(self, tiou_thresholds=DEFAULT_TIOU_THRESHOLDS):
        """The full ``detection_map`` result of the current pseudo labels on the training videos."""
        return detection_map(self.train_ground_truth, self._pseudo_segments(), tiou_thresholds)

    def _pseudo_segments(self) -> Segments:
        return self.pseudo.as_segments([item.video_id for item in self.train_items], self.class_names)

    @torch.no_grad()
    def timeline(self, video_id: str) -> Timeline:
        """The picture's content for one video: ground truth and points, p_s and p_e, its best proposals
        (before NMS), its pseudo labels (training videos) and its predictions."""
        index, item, is_training = find_video(self.train_items, self.eval_items, video_id)
        found, (_, segments, scores) = self._detections([item])
        model = unwrap_model(self.model)
        was_training = model.training
        model.eval()
        features, lengths = self._padded([item.features])
        boundary = model(features, lengths).boundary
        model.train(was_training)
        best = torch.argsort(scores, descending=True)[:15]
        timeline = video_timeline(item, self.class_names, found)
        timeline.sequences = {"p_s (start)": (None, boundary.start_prob[0].cpu().numpy()),
                              "p_e (end)": (None, boundary.end_prob[0].cpu().numpy())}
        timeline.proposals = [(float(segments[i, 0]), float(segments[i, 1]), float(scores[i])) for i in best]
        if is_training and self.pseudo is not None:
            labels = self.pseudo.labels(index, len(item.features), len(self.class_names))
            timeline.pseudo_labels = {self.class_names[c]: (c, labels[:, c].numpy())
                                      for c in range(len(self.class_names)) if labels[:, c].any()}
        return timeline

    # ---- checkpoints ----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"pseudo": None if self.pseudo is None else self.pseudo.state_dict(),
                "ema_embed": None if self.ema_embed is None else self.ema_embed.state_dict(),
                **self.sampler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state["pseudo"] is not None:
            self._set_pseudo_labels(PseudoLabels(**state["pseudo"]))
        if self.ema_embed is not None:
            self.ema_embed.load_state_dict(state["ema_embed"])
        self.sampler.load_state_dict(state)


def _check_settings(config: dict) -> None:
    """Raise a ValueError naming the config key of the first setting out of its range."""
    data, pseudo, loss = config["data"], config["pseudo"], config["loss"]
    for key, value, options in (("pseudo.features", pseudo["features"], PSEUDO_FEATURES),
                                ("pseudo.background", pseudo["background"], BACKGROUND_LAYOUTS),
                                ("pseudo.action_medoids", pseudo["action_medoids"], ACTION_MEDOIDS),
                                ("pseudo.distance", pseudo["distance"], DISTANCES),
                                ("loss.ctr_reduction", loss["ctr_reduction"], ("mean", "sum"))):
        if value not in options:
            raise ValueError(f"{key} must be one of {', '.join(options)}, got {value!r}")
    for key, value, low in (("data.window", data["window"], 0), ("data.stride", data["stride"], 1),
                            ("pseudo.background_span", pseudo["background_span"], 0),
                            ("pseudo.max_iter", pseudo["max_iter"], 1),
                            ("pseudo.background_sample", pseudo["background_sample"], 1),
                            ("pseudo.frequency", pseudo["frequency"], 1), ("loss.ctr_after", loss["ctr_after"], 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")
    if pseudo["background"] == "video" and pseudo["background_span"]:
        raise ValueError(f"pseudo.background_span applies to pseudo.background=gap only, got "
                         f"{pseudo['background_span']} with background=video")
    if not 0 <= pseudo["ema_decay"] < 1:
        raise ValueError(f"pseudo.ema_decay must be in [0, 1), got {pseudo['ema_decay']!r}")
