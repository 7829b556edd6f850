"""LACP as a trainable method: data, batches, the sequence-search schedule, losses, evaluation."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from ptal.data import pad
from ptal.data.activitynet import Segments
from ptal.models.base import VideoMethod
from ptal.models.common import SeededSampler, concatenate, find_video, video_timeline
from ptal.models.lacp.config import LacpConfig
from ptal.models.lacp.inference import predict
from ptal.models.lacp.losses import PseudoSegments, lacp_losses, pseudo_segments, searched_pairs
from ptal.models.lacp.network import LacpNetwork
from ptal.ops.internal import optimal_sequence_search, select_seeds
from ptal.train import all_gather, explicit_sync, shard_blocks
from ptal.train.distributed import SINGLE_PROCESS
from ptal.viz import Timeline


class LacpMethod(VideoMethod):
    """LACP (docs/lacp.md) on a benchmark (``data.dataset``), on one device."""

    name = "lacp"
    config_class = LacpConfig

    def __init__(self, config: LacpConfig, device: str | torch.device = "cpu"):
        super().__init__(config, device)
        check_snippet_setting(config.inference.seconds_per_snippet, self.train_items + self.eval_items,
                              self.dataset.title)
        model = config.model
        self.model = LacpNetwork(self.train_items[0].features.shape[1], len(self.class_names), model.hidden,
                                 model.dropout, model.r_act).to(self.device)
        self.weights = config.loss
        # The training videos on the device, once: a batch is assembled there, without host copies.
        self.train_tensors = [_VideoTensors(item.features.to(self.device), item.point_labels.to(self.device),
                                            item.video_labels.to(self.device),
                                            torch.tensor(len(item.features), device=self.device))
                              for item in self.train_items]
        self.pseudo_labels: list[torch.Tensor] | None = None  # per training video, (T, C) uint8, on the device
        # Per training video, the segments of its pseudo labels, (S, 4) [class, start, end, is_action] on the
        # device, with their host sizes (S, searched classes, most segments of a class): see _keep_pseudo_labels.
        self.video_segments: list[tuple[torch.Tensor, int, int, int]] = []
        self.sequence_score: torch.Tensor | None = None  # mean sequence score of the last search
        self.sampler = SeededSampler(len(self.train_items), config.train.seed)

    # ---- batches --------------------------------------------------------------------------------------
    def _padded(self, items) -> dict:
        """Padded tensors of ``items`` (evaluation videos: copied to the device here)."""
        features, lengths = pad([item.features for item in items], self.device)
        features = features.float()  # items may hold float16 (a memory-mapped twin)
        steps = torch.tensor([item.seconds_per_snippet for item in items], dtype=torch.float64, device=self.device)
        return {"features": features, "lengths": lengths, "seconds_per_snippet": steps}

    def _training_batch(self, videos) -> dict:
        """Padded tensors of the training videos ``videos`` (indices), from their device copies."""
        return self._batch([self.train_tensors[v] for v in videos])

    def _batch(self, videos: list[_VideoTensors]) -> dict:
        # pad_sequence, not pad(): pad() builds the lengths on the host, a copy to the device in every step.
        return {"features": pad_sequence([v.features for v in videos], batch_first=True).float(),
                "points": pad_sequence([v.points for v in videos], batch_first=True),
                "lengths": torch.stack([v.length for v in videos]),
                "video_labels": torch.stack([v.video_labels for v in videos])}

    def _batch_segments(self, videos: list[int]) -> PseudoSegments:
        """The pseudo segments of the training videos ``videos`` as a batch's (rows b * C + class), from the
        ones kept at the last search: device work only, the sizes are known on the host."""
        classes = len(self.class_names)
        kept = [self.video_segments[v] for v in videos]
        rows = torch.cat([segments[:, 0] + b * classes for b, (segments, _, _, _) in enumerate(kept)])
        table = torch.cat([segments for segments, _, _, _ in kept])
        return PseudoSegments(rows, table[:, 1], table[:, 2], table[:, 3].bool(),
                              num_pairs=sum(pairs for _, _, pairs, _ in kept),
                              max_per_pair=max((most for _, _, _, most in kept), default=0))

    # ---- the trainer's interface ----------------------------------------------------------------------
    def before_iteration(self, iteration: int) -> None:
        """The sequence search every ``search.frequency`` iterations (numbered from 1), after the 10th,
        20th, ... step as in the release, when a completeness loss is on."""
        frequency = self.config.search.frequency
        if iteration > 1 and (iteration - 1) % frequency == 0 and (self.weights.score or self.weights.feature):
            self.search()

    @torch.no_grad()
    def search(self) -> None:
        """Pseudo labels of every training video from the current network (eval mode), in batches of
        ``search.batch_videos``; under torchrun each rank searches its share of the batches."""
        settings = self.config.search
        was_training = self.model.training
        self.model.eval()
        labels, scores = [], []  # (video, its labels) of this rank's videos; sequence scores
        for videos in shard_blocks(self.context, len(self.train_items), settings.batch_videos):
            batch = self._training_batch(videos)
            out = self.model(batch["features"], batch["lengths"], batch["video_labels"])
            act_seed, bkg_seed = select_seeds(out.cas, batch["points"], batch["lengths"])
            found, score = optimal_sequence_search(out.cas, act_seed, bkg_seed, batch["video_labels"], batch["lengths"],
                                                   method=settings.method, budget=settings.budget,
                                                   thresh=settings.thresh)
            labels += [(v, found[i, :len(self.train_tensors[v].features)]) for i, v in enumerate(videos)]
            scores.append(score)
        self.model.train(was_training)
        scores = torch.cat(scores)
        if self.context.is_distributed:
            with explicit_sync():  # every rank gets every video's labels
                shards = all_gather(self.context, ([(v, label.cpu()) for v, label in labels], scores.cpu()))
                labels = sorted((pair for rank_labels, _ in shards for pair in rank_labels), key=lambda pair: pair[0])
                scores = torch.cat([rank_scores for _, rank_scores in shards]).to(self.device)
        self._keep_pseudo_labels([label for _, label in labels])
        self.sequence_score = scores.mean()

    def _video_batches(self) -> list[range]:
        """Every training video, in blocks of ``search.batch_videos``."""
        return shard_blocks(SINGLE_PROCESS, len(self.train_items), self.config.search.batch_videos)

    def _keep_pseudo_labels(self, labels: list[torch.Tensor]) -> None:
        """Keep the pseudo labels of every training video, on the device, and the segments the losses take from
        them (they change only with the labels), with their sizes: one explicit read per batch of videos."""
        classes = len(self.class_names)
        self.pseudo_labels = [label.to(self.device) for label in labels]
        self.video_segments = []
        for videos in self._video_batches():
            batch = self._training_batch(videos)
            found = torch.nn.utils.rnn.pad_sequence([self.pseudo_labels[v] for v in videos], batch_first=True)
            searched = searched_pairs(batch["video_labels"], found, self.config.official)
            with explicit_sync():  # data-dependent sizes, read once per search
                segments = pseudo_segments(found, searched, batch["lengths"])
                videos_of = segments.rows // classes
                pairs = torch.unique_consecutive(segments.rows, return_counts=True)
                sizes = torch.zeros((3, len(videos)), dtype=torch.int64, device=self.device)
                sizes[0].index_add_(0, videos_of, torch.ones_like(videos_of))
                sizes[1].index_add_(0, pairs[0] // classes, torch.ones_like(pairs[1]))
                sizes[2].scatter_reduce_(0, pairs[0] // classes, pairs[1], "amax")
                counts, num_pairs, most = sizes.tolist()
            table = torch.stack([segments.rows % classes, segments.starts, segments.ends, segments.is_action.long()], 1)
            self.video_segments += list(zip(table.split(counts), counts, num_pairs, most))

    def training_loss(self, iteration: int) -> tuple[torch.Tensor, dict[str, float]]:
        videos = self.sampler.draw(self.config.data.batch_size)[self.context.rank::self.context.world_size]
        batch = self._training_batch(videos)
        out = self.model(batch["features"], batch["lengths"], batch["video_labels"])
        segments = self._batch_segments(videos) if self.pseudo_labels is not None else None
        total, parts = lacp_losses(out, batch["video_labels"], batch["points"], batch["lengths"], segments,
                                   weights=self.weights, official=self.config.official)
        logged = {name: value.detach() for name, value in parts.items()}  # read by the trainer at its log lines
        if self.pseudo_labels is not None:
            logged["sequence_score"] = self.sequence_score
        return total, logged

    @torch.no_grad()
    def detect_videos(self, items) -> Segments:
        """Detections of whole videos, in seconds, in batches of ``inference.batch_videos`` (eval mode)."""
        parts = []
        step = self.config.inference.batch_videos
        for first in self.progress(range(0, len(items), step), "evaluate"):
            chunk = items[first:first + step]
            batch = self._padded(chunk)
            found = predict(self.model(batch["features"], batch["lengths"]), batch["lengths"],
                            [item.video_id for item in chunk], self.class_names, self.config.inference,
                            official=self.config.official, seconds_per_snippet=batch["seconds_per_snippet"])
            parts.append((first, found))
        return concatenate([item.video_id for item in items], self.class_names, parts)

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
        found = predict(out, batch["lengths"], [video_id], self.class_names, self.config.inference,
                        official=self.config.official, seconds_per_snippet=batch["seconds_per_snippet"])
        self.model.train(was_training)
        classes = sorted(set(item.segment_labels.tolist()) | set(np.flatnonzero(item.video_labels.numpy()).tolist())
                         | set(found.label.tolist()))
        timeline = video_timeline(item, self.class_names, found)
        timeline.sequences = {f"CAS {self.class_names[c]}": (c, out.cas[0, :, c].cpu().numpy()) for c in classes}
        timeline.sequences["background"] = (None, out.cas[0, :, -1].cpu().numpy())
        if is_training and self.pseudo_labels is not None:
            labels = self.pseudo_labels[index].cpu()
            timeline.pseudo_labels = {self.class_names[c]: (c, labels[:, c].numpy()) for c in classes if labels[:, c].any()}
        return timeline

    def state_dict(self) -> dict:
        searched = self.pseudo_labels is not None
        return {"pseudo_labels": [label.cpu() for label in self.pseudo_labels] if searched else None,
                "sequence_score": float(self.sequence_score) if searched else None, **self.sampler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state["pseudo_labels"] is not None:
            self._keep_pseudo_labels(state["pseudo_labels"])
            self.sequence_score = torch.tensor(state["sequence_score"], device=self.device)
        self.sampler.load_state_dict(state)


def check_snippet_setting(seconds_per_snippet: float | None, items, title: str) -> None:
    """A set ``inference.seconds_per_snippet`` (configs of earlier versions) must be every video's duration."""
    if seconds_per_snippet is None:
        return
    other = next((item for item in items if not math.isclose(item.seconds_per_snippet, seconds_per_snippet)), None)
    if other is not None:
        raise ValueError(f"inference.seconds_per_snippet is {seconds_per_snippet} but a snippet of {title}'s video "
                         f"{other.video_id!r} lasts {other.seconds_per_snippet:.6g} s: leave the key unset (the "
                         f"dataset's duration is used)")


@dataclass(frozen=True)
class _VideoTensors:
    """One video's tensors: features (T, D), points (T, C), video labels (C,), length (0-dim int64)."""
    features: torch.Tensor
    points: torch.Tensor
    video_labels: torch.Tensor
    length: torch.Tensor
