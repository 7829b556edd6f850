"""LACP as a trainable method: data, batches, the sequence-search schedule, losses, evaluation.

It implements the trainer's ``Method`` interface (``ptal.train``): ``model``, ``before_iteration``,
``training_loss``, ``evaluate``, ``state_dict``/``load_state_dict``.
"""
from __future__ import annotations

import numpy as np
import torch

from ptal.data import load_thumos14
from ptal.data.activitynet import Segments
from ptal.models.common import (SeededSampler, concatenate, detection_metrics, find_video, ground_truth_of,
                                load_videos, video_timeline)
from ptal.models.lacp.inference import InferenceSettings, predict
from ptal.models.lacp.losses import LossWeights, lacp_losses
from ptal.models.lacp.network import LacpNetwork
from ptal.ops.internal import optimal_sequence_search, select_seeds
from ptal.viz import Timeline

# Every key of a LACP config, with its default (the release's THUMOS14 settings, except where noted).
DEFAULTS = {
    "model": {"name": "lacp", "hidden": 2048, "dropout": 0.7, "r_act": 8},
    "data": {"source": "synthetic", "annotations": None, "feature_dim": 2048, "seed": 0, "difficulty": 1.0,
             "boundary_context": 0.8,
             "eval_split": "test", "batch_size": 16},
    "loss": {"video": 1.0, "point": 0.5, "background": 1.0, "score": 1.0, "feature": 1.0},
    "search": {"method": "exact", "frequency": 10, "budget": 25, "thresh": 0.1, "batch_videos": 16},
    "inference": {"class_threshold": 0.5, "scale": 24, "gamma": 0.2, "nms": "soft", "nms_threshold": 0.7,
                  "soft_sigma": 0.5, "batch_videos": 16},
    "train": {"iterations": 2000, "lr": 1e-4, "betas": [0.9, 0.999], "weight_decay": 5e-4,
              "eval_every": 100, "select_by": "average_0.1:0.7", "seed": 0, "out_dir": "runs/lacp", "amp": False,
              "log_every": 10, "progress": True},
    "official": False,
}


class LacpMethod:
    """LACP on THUMOS14-structured data (the synthetic benchmark by default, or real features in the
    LACP layout with ``data.source=PATH``), on one device."""

    def __init__(self, config: dict, device: str | torch.device = "cpu"):
        self.config, self.device = config, torch.device(device)
        self.rank, self.world_size = 0, 1
        annotations = load_thumos14(config["data"]["annotations"])
        self.class_names = annotations.class_names
        self.train_items = load_videos(config["data"], annotations, "train")
        self.eval_items = load_videos(config["data"], annotations, config["data"]["eval_split"])
        self.eval_ground_truth = ground_truth_of(annotations.ground_truth, [item.video_id for item in self.eval_items])
        model = config["model"]
        self.model = LacpNetwork(self.train_items[0].features.shape[1], len(self.class_names), model["hidden"],
                                 model["dropout"], model["r_act"]).to(self.device)
        self.weights = LossWeights(**config["loss"])
        self.pseudo_labels: list[torch.Tensor] | None = None  # per training video, (T, C) uint8
        self.sequence_score: float | None = None  # mean sequence score of the last search
        self.sampler = SeededSampler(len(self.train_items), config["train"]["seed"])

    # ---- batches --------------------------------------------------------------------------------------
    def _padded(self, items, training_videos: list[int] | None = None) -> dict:
        """Padded tensors of ``items``; with the stored pseudo labels of ``training_videos`` (the items'
        indices among the training videos) once a search has run."""
        lengths = torch.tensor([len(item.features) for item in items])
        pad = lambda tensors: torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True).to(self.device)  # noqa: E731
        batch = {"features": pad([item.features for item in items]), "lengths": lengths.to(self.device),
                 "video_labels": torch.stack([item.video_labels for item in items]).to(self.device),
                 "points": pad([item.point_labels for item in items])}
        if training_videos is not None and self.pseudo_labels is not None:
            batch["pseudo_labels"] = pad([self.pseudo_labels[v] for v in training_videos])
        return batch

    # ---- the trainer's interface ----------------------------------------------------------------------
    def setup_distributed(self, rank: int, world_size: int) -> None:
        """Under torchrun: every rank draws the same batch and trains on its share of the videos."""
        self.rank, self.world_size = rank, world_size

    def before_iteration(self, iteration: int) -> None:
        """The sequence search every ``search.frequency`` iterations (numbered from 1), after the 10th,
        20th, ... step as in the release, when a completeness loss is on."""
        frequency = self.config["search"]["frequency"]
        if iteration > 1 and (iteration - 1) % frequency == 0 and (self.weights.score or self.weights.feature):
            self.search()

    @torch.no_grad()
    def search(self) -> None:
        """Pseudo labels of every training video from the current network (eval mode), batched."""
        settings = self.config["search"]
        was_training = self.model.training
        self.model.eval()
        labels, scores = [], []
        step = settings["batch_videos"]
        for first in range(0, len(self.train_items), step):
            items = self.train_items[first:first + step]
            batch = self._padded(items)
            out = self.model(batch["features"], batch["lengths"], batch["video_labels"])
            act_seed, bkg_seed = select_seeds(out.cas, batch["points"], batch["lengths"])
            found, score = optimal_sequence_search(out.cas, act_seed, bkg_seed, batch["video_labels"], batch["lengths"],
                                                   method=settings["method"], budget=settings["budget"],
                                                   thresh=settings["thresh"])
            labels += [found[i, :len(item.features)].cpu() for i, item in enumerate(items)]
            scores.append(score.cpu())
        self.pseudo_labels = labels
        self.sequence_score = float(torch.cat(scores).mean())
        self.model.train(was_training)

    def training_loss(self, iteration: int) -> tuple[torch.Tensor, dict[str, float]]:
        videos = self.sampler.draw(self.config["data"]["batch_size"])[self.rank::self.world_size]
        batch = self._padded([self.train_items[v] for v in videos], training_videos=videos)
        out = self.model(batch["features"], batch["lengths"], batch["video_labels"])
        total, parts = lacp_losses(out, batch["video_labels"], batch["points"], batch["lengths"],
                                   batch.get("pseudo_labels"), weights=self.weights, official=self.config["official"])
        logged = {name: float(value.detach()) for name, value in parts.items()}
        if self.pseudo_labels is not None:
            logged["sequence_score"] = self.sequence_score
        return total, logged

    def _inference_settings(self) -> InferenceSettings:
        inference = self.config["inference"]
        return InferenceSettings(class_threshold=inference["class_threshold"], scale=inference["scale"],
                                 gamma=inference["gamma"], nms=inference["nms"], nms_threshold=inference["nms_threshold"],
                                 soft_sigma=inference["soft_sigma"], official=self.config["official"])

    @torch.no_grad()
    def predictions(self) -> Segments:
        """Detections on the evaluation videos (eval mode), in seconds."""
        settings = self._inference_settings()
        was_training = self.model.training
        self.model.eval()
        parts = []
        step = self.config["inference"]["batch_videos"]
        for first in range(0, len(self.eval_items), step):
            items = self.eval_items[first:first + step]
            batch = self._padded(items)
            found = predict(self.model(batch["features"], batch["lengths"]), batch["lengths"],
                            [item.video_id for item in items], self.class_names, settings)
            parts.append((first, found))
        self.model.train(was_training)
        return concatenate([item.video_id for item in self.eval_items], self.class_names, parts)

    @torch.no_grad()
    def timeline(self, video_id: str) -> Timeline:
        """The picture's content for one video (training or evaluation): its ground truth and points, the
        CAS of its classes and of the predicted ones, its pseudo labels (training videos, after a search)
        and its predictions."""
        index, item, is_training = find_video(self.train_items, self.eval_items, video_id)
        was_training = self.model.training
        self.model.eval()
        batch = self._padded([item])
        out = self.model(batch["features"], batch["lengths"])
        found = predict(out, batch["lengths"], [video_id], self.class_names, self._inference_settings())
        self.model.train(was_training)
        classes = sorted(set(item.segment_labels.tolist()) | set(np.flatnonzero(item.video_labels.numpy()).tolist())
                         | set(found.label.tolist()))
        timeline = video_timeline(item, self.class_names, found)
        timeline.sequences = {f"CAS {self.class_names[c]}": (c, out.cas[0, :, c].cpu().numpy()) for c in classes}
        timeline.sequences["background"] = (None, out.cas[0, :, -1].cpu().numpy())
        if is_training and self.pseudo_labels is not None:
            labels = self.pseudo_labels[index]
            timeline.pseudo_labels = {self.class_names[c]: (c, labels[:, c].numpy()) for c in classes if labels[:, c].any()}
        return timeline

    def evaluate(self) -> dict[str, float]:
        return detection_metrics(self.eval_ground_truth, self.predictions())

    def state_dict(self) -> dict:
        return {"pseudo_labels": self.pseudo_labels, "sequence_score": self.sequence_score,
                **self.sampler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.pseudo_labels, self.sequence_score = state["pseudo_labels"], state["sequence_score"]
        self.sampler.load_state_dict(state)
