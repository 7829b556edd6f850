"""APN as a trainable method: windows of a benchmark's videos, pseudo labels refreshed by
constrained k-medoids, the three losses, windowed inference and evaluation."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from ptal.data import pad, valid_mask, windows
from ptal.data.activitynet import Segments
from ptal.eval import detection_map
from ptal.models.apn.config import ApnConfig
from ptal.models.apn.inference import detect, suppress, to_seconds
from ptal.models.apn.losses import bdm_loss, ctr_loss, pem_loss, proposal_targets, snippet_loss
from ptal.models.apn.network import ApnNetwork, embed_padded
from ptal.models.apn.pseudo_labels import (PseudoLabels, WindowTargets, concatenate, cut_into_windows,
                                          kmedoids_pseudo_labels, point_rows)
from ptal.models.apn.text import class_text_embeddings
from ptal.models.base import VideoMethod
from ptal.models.common import SeededSampler, detection_metric_names, detection_metrics, find_video, video_timeline
from ptal.ops.internal import generate_proposals_padded
from ptal.train import all_gather, explicit_sync, shard_blocks, unwrap_model
from ptal.viz import Timeline


@dataclass
class WindowBatch:
    """B training windows padded to the longest, in window coordinates (snippet 0 = the window's first).

    instances: (K, 3) ``[window, start, end]`` every pseudo-labelled instance overlapping a window (not
        clipped), the BDM targets.
    points: (B, Q, 4) ``[snippet, class, start, end]`` each window's points with their instance, by snippet,
        padded with -1 (PEM's targets).
    point_instances: (Q', 4) ``[window, start, end, class]`` the instances of those points, L_CTR's.
    background: (R, 3) ``[window, start, end]`` the background clusters overlapping a window.
    """

    features: torch.Tensor
    lengths: torch.Tensor
    instances: torch.Tensor
    points: torch.Tensor
    point_instances: torch.Tensor
    background: torch.Tensor


def per_window_sample(eligible: torch.Tensor, cap: int) -> torch.Tensor:
    """(B, min(cap, C)) positions in each window of ``eligible`` (B, C): its eligible entries if at most
    ``cap``, else ``cap`` of them drawn uniformly with torch's generator; the rest of a row is ineligible
    entries. Fixed shapes, no host read."""
    keys = torch.rand(eligible.shape, device=eligible.device).masked_fill(~eligible, -1)
    return keys.topk(min(cap, eligible.shape[1]), dim=1).indices


def window_column(tables: list[torch.Tensor]) -> torch.Tensor:
    """The rows of each window's table, after a first column holding the window's position in the list."""
    return torch.cat([F.pad(table, (1, 0), value=window) for window, table in enumerate(tables)])


class ApnMethod(VideoMethod):
    """APN (docs/apn.md) on a benchmark (``data.dataset``), on one device."""

    name = "apn"
    config_class = ApnConfig

    def __init__(self, config: ApnConfig, device: str | torch.device = "cpu"):
        super().__init__(config, device)
        data, model = config.data, config.model
        self.train_points = [point_rows(item.point_labels) for item in self.train_items]
        # The training videos on the device, once: a batch is assembled there, without host copies.
        self.train_features = [item.features.to(self.device) for item in self.train_items]
        self.video_lengths = torch.tensor([len(f) for f in self.train_features], device=self.device).unbind()
        self.train_windows = [(video, start, stop) for video, item in enumerate(self.train_items)
                              for start, stop in windows(len(item.features), data.window, data.stride)
                              if bool(((self.train_points[video][:, 0] >= start)
                                       & (self.train_points[video][:, 0] < stop)).any())]
        self.window_lengths = torch.tensor([stop - start for _, start, stop in self.train_windows],
                                           device=self.device).unbind()
        text = class_text_embeddings(config.text.backend, self.class_names, config.text.prompts, model.pem_dim)
        self.model = ApnNetwork(self.train_items[0].features.shape[1], len(self.class_names), text,
                                embed_dim=model.embed_dim, bdm_hidden=model.bdm_hidden,
                                num_samples=model.num_samples, expand=model.expand, pem_dim=model.pem_dim,
                                pem_layers=model.pem_layers, pem_heads=model.pem_heads,
                                pem_dropout=model.pem_dropout,
                                snippet_classifier=model.snippet_classifier).to(self.device)
        self.weights = config.loss
        # pseudo.features=ema: a moving average of the embedding, updated before every iteration.
        self.ema_embed = (copy.deepcopy(self.model.embed).requires_grad_(False)
                          if config.pseudo.features == "ema" else None)
        self.pseudo: PseudoLabels | None = None
        self.window_targets: list[WindowTargets] = []  # per training window, on the device
        self.sampler = SeededSampler(len(self.train_windows), config.train.seed)

    # ---- pseudo labels --------------------------------------------------------------------------------
    @torch.no_grad()
    def refresh_pseudo_labels(self) -> None:
        """Constrained k-medoids of every training video (eval mode) on what ``pseudo.features`` says:
        ``mixed`` (default), the input features and the current embedded features X together (the cosine
        distance is the mean of the two spaces' cosine distances); ``embedded``, X alone (the paper);
        ``ema``, X of a slowly moving average of the embedding; ``input``, the input features alone (once:
        the labels never change). In batches of ``pseudo.batch_videos``; under torchrun each rank
        clusters its share of the batches."""
        settings = self.config.pseudo
        if settings.features == "input" and self.pseudo is not None:
            return
        was_training = self.model.training
        self.model.eval()
        parts = []
        for videos in shard_blocks(self.context, len(self.train_items), settings.batch_videos):
            features = pad_sequence(self.train_features[videos.start:videos.stop], batch_first=True).float()
            lengths = torch.stack(self.video_lengths[videos.start:videos.stop])
            clustered = self._clustered(features, lengths)
            with explicit_sync():  # data-dependent sizes: the clusters, read once per batch of videos
                parts.append((videos.start, kmedoids_pseudo_labels(clustered, lengths,
                                                                   self.train_points[videos.start:videos.stop],
                                                                   videos.start, **settings.clustering())))
        self.model.train(was_training)
        with explicit_sync():  # every rank gets every video's labels; their cut into windows goes to the device
            if self.context.is_distributed:
                parts = [part for rank_parts in all_gather(self.context, parts) for part in rank_parts]
            self._set_pseudo_labels(concatenate([part for _, part in sorted(parts, key=lambda part: part[0])]))

    def _clustered(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The features (B, T, ·) the pseudo labels cluster, from padded input features (B, T, D)."""
        chosen = self.config.pseudo.features
        if chosen == "input":
            return features
        if chosen == "ema":
            return embed_padded(self.ema_embed, features, lengths).float()
        boundary = self.model(features, lengths).boundary
        embedded = boundary.embedded.float()
        if chosen == "embedded":
            return embedded
        spaces = [features, embedded]
        if chosen == "classes":
            spaces.append(torch.softmax(boundary.snippet_logits.float(), -1))
        return torch.cat([F.normalize(space, dim=-1) for space in spaces], -1)

    def _set_pseudo_labels(self, pseudo: PseudoLabels) -> None:
        self.pseudo = pseudo
        self.window_targets = cut_into_windows(pseudo, self.train_windows, self.device)

    # ---- batches --------------------------------------------------------------------------------------
    def _window_batch(self, windows: list[int]) -> WindowBatch:
        """The training windows ``windows`` (indices) from their device copies: no host read or copy."""
        features = [self.train_features[video][start:stop] for video, start, stop in
                    (self.train_windows[window] for window in windows)]
        targets = [self.window_targets[window] for window in windows]
        points = [t.points for t in targets]
        in_window, _, label, start, end = window_column(points).unbind(1)
        return WindowBatch(pad_sequence(features, batch_first=True).float(),
                           torch.stack([self.window_lengths[window] for window in windows]),
                           window_column([t.instances for t in targets]),
                           pad_sequence(points, batch_first=True, padding_value=-1),
                           torch.stack([in_window, start, end, label], 1),
                           window_column([t.background for t in targets]))

    # ---- the trainer's interface ----------------------------------------------------------------------
    def before_iteration(self, iteration: int) -> None:
        """Pseudo labels before iteration 1, then every ``pseudo.frequency`` iterations (1, 1 + R, …)."""
        if self.ema_embed is not None:
            decay = self.config.pseudo.ema_decay
            with torch.no_grad():
                for average, current in zip(self.ema_embed.parameters(), unwrap_model(self.model).embed.parameters()):
                    average.mul_(decay).add_(current.detach(), alpha=1 - decay)
        if self.pseudo is None or (iteration - 1) % self.config.pseudo.frequency == 0:
            self.refresh_pseudo_labels()

    def training_loss(self, iteration: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        drawn = self.sampler.draw(self.config.data.batch_size)[self.context.rank::self.context.world_size]
        batch = self._window_batch(drawn)
        proposal_settings = self.config.proposals
        chosen = {}

        def training_proposals(boundary):
            pairs, _, counts = generate_proposals_padded(
                boundary.start_prob.detach().float(), boundary.end_prob.detach().float(), batch.lengths,
                d_min=proposal_settings.d_min, d_max=proposal_settings.d_max,
                max_proposals=proposal_settings.max_proposals)
            valid = torch.arange(pairs.shape[1], device=pairs.device) < counts[:, None]
            targets = proposal_targets(pairs, valid, batch.points, len(self.class_names))
            index = per_window_sample(targets.keep, proposal_settings.train_per_window)  # (B, S)
            chosen["targets"] = targets.chosen(index)
            window = torch.arange(len(index), device=index.device)[:, None, None].expand(-1, index.shape[1], 1)
            return torch.cat([window, pairs.gather(1, index[:, :, None].expand(-1, -1, 2))], 2).flatten(0, 1)

        out = self.model(batch.features, batch.lengths, training_proposals)
        valid = valid_mask(batch.lengths, batch.features.shape[1])
        parts = {"bdm": bdm_loss(out.boundary.start_prob, out.boundary.end_prob, batch.instances, valid),
                 "pem": pem_loss(out.evaluation, chosen["targets"])}
        if out.boundary.snippet_logits is not None:
            parts["snippets"] = snippet_loss(out.boundary.snippet_logits, batch.lengths, batch.point_instances,
                                             batch.background)
        use_ctr = self.weights.ctr and iteration > self.weights.ctr_after
        if use_ctr:
            parts["ctr"] = ctr_loss(out.boundary.embedded, batch.lengths, batch.point_instances, batch.background,
                                    self.weights.tau, mean=self.weights.ctr_reduction == "mean")
        total = self.weights.bdm * parts["bdm"] + self.weights.pem * parts["pem"]
        if "snippets" in parts:
            total = total + self.weights.snippets * parts["snippets"]
        if use_ctr:
            total = total + self.weights.ctr * parts["ctr"]
        logged = {name: value.detach() for name, value in parts.items()}  # read by the trainer at its log lines
        logged["proposals"] = chosen["targets"].keep.sum() / max(len(drawn), 1)
        return total, logged

    # ---- inference ------------------------------------------------------------------------------------
    @torch.no_grad()
    def _detections(self, items) -> tuple[Segments, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Detections of whole videos (their windows' proposals merged, NMS, top-k per video), in seconds,
        and every scored proposal before NMS: (video (P,), segments (P, 2) seconds, score (P,))."""
        model = unwrap_model(self.model)
        was_training = model.training
        model.eval()
        spans = [(video, start, stop) for video, item in enumerate(items)
                 for start, stop in windows(len(item.features), self.config.data.window, self.config.data.stride)]
        found = {"video": [], "start": [], "end": [], "label": [], "score": []}
        step = self.config.inference.batch_windows
        for first in self.progress(range(0, len(spans), step), "evaluate"):
            chunk = spans[first:first + step]
            features, lengths = pad([items[v].features[start:stop] for v, start, stop in chunk], self.device)
            features = features.float()  # items may hold float16 (a memory-mapped twin)
            detections = detect(model, features, lengths, self.config.proposals, self.config.inference)
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
        steps = torch.tensor([item.seconds_per_snippet for item in items], dtype=torch.float64, device=self.device)
        segments = to_seconds(start, end, steps[video])
        keep, kept_score = suppress(video, segments, label, score, len(self.class_names), self.config.inference)
        predictions = Segments([item.video_id for item in items], self.class_names,
                               video[keep].cpu().numpy().astype(np.int64), segments[keep, 0].cpu().numpy(),
                               segments[keep, 1].cpu().numpy(), label[keep].cpu().numpy().astype(np.int64),
                               kept_score.cpu().numpy())
        return predictions, (video, segments, score)

    def detect_videos(self, items) -> Segments:
        return self._detections(items)[0]

    def extra_metrics(self) -> dict[str, float]:
        """The mAP of the current pseudo labels on the training videos (``pseudo/...``, every pseudo
        instance scoring 1)."""
        return self.pseudo_label_metrics() if self.pseudo is not None else {}

    def extra_metric_names(self) -> list[str]:
        return [*detection_metric_names(self.tiou_thresholds, prefix="pseudo/"), "pseudo/mean_length"]

    def pseudo_label_metrics(self) -> dict[str, float]:
        """``pseudo/mAP@t``: the current pseudo-labelled instances against the training ground truth, and
        ``pseudo/mean_length``: their mean length in snippets (the ground truth's: 6.3 on THUMOS14)."""
        instances = self.pseudo.instances
        return {**detection_metrics(self.train_ground_truth, self._pseudo_segments(), self.tiou_thresholds,
                                    prefix="pseudo/"),
                "pseudo/mean_length": float((instances[:, 2] - instances[:, 1] + 1).double().mean())}

    def pseudo_label_result(self, tiou_thresholds=None):
        """The full ``detection_map`` result of the current pseudo labels on the training videos (at the
        dataset's thresholds by default)."""
        if self.pseudo is None:
            return None
        return detection_map(self.train_ground_truth, self._pseudo_segments(),
                             self.tiou_thresholds if tiou_thresholds is None else tiou_thresholds)

    def _pseudo_segments(self) -> Segments:
        return self.pseudo.as_segments([item.video_id for item in self.train_items], self.class_names,
                                       [item.seconds_per_snippet for item in self.train_items])

    @torch.no_grad()
    def timeline(self, video_id: str) -> Timeline:
        """The picture's content for one video: ground truth and points, p_s and p_e, its best proposals
        (before NMS), its pseudo labels (training videos) and its predictions."""
        index, item, is_training = find_video(self.train_items, self.eval_items, video_id)
        found, (_, segments, scores) = self._detections([item])
        model = unwrap_model(self.model)
        was_training = model.training
        model.eval()
        features, lengths = pad([item.features], self.device)
        boundary = model(features.float(), lengths).boundary
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
