"""LACP's inference (docs/lacp.md, "Inference"), batched over videos: predicted classes,
24x upsampled CAS, proposals at two families of thresholds, OIC + gamma * video score, per-class soft-NMS (or
the release's hard NMS)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ptal.data.activitynet import Segments
from ptal.models.common import best_per_group, top_k_mask
from ptal.models.lacp.network import LacpOutput
from ptal.ops.internal import oic_scores, soft_nms, temporal_nms, threshold_proposals


@dataclass
class InferenceSettings:
    """The ``inference`` section of a LACP config: how detections come out of the network's output.

    Attributes:
        class_threshold: a video's predicted classes have a video score >= this (and the best one always).
        max_classes: at most this many predicted classes per video, the highest video scores (0: no limit).
        scale: the CAS is upsampled this many times (linear interpolation) before thresholding.
        cas_thresholds, agnostic_thresholds: the thresholds of the class CAS and of the class-agnostic
            actionness (1 - background) whose runs are the proposals.
        outer_ratio: the outer-inner contrast's outer margin, as a fraction of a proposal's length.
        gamma: score = OIC + gamma * video score.
        nms: ``soft`` (Gaussian soft-NMS per (video, class), sigma ``soft_sigma``) or ``hard`` (NMS at
            ``nms_threshold``, the release's; ``official=true`` always uses it). Soft: +9 AVG[0.1:0.7] on
            the synthetic benchmark (README).
        seconds_per_snippet: unset: the dataset's snippet duration, per video (THUMOS14: 16 frames at 25 fps,
            0.64 s). Configs and checkpoints of earlier versions hold 0.64; a value must equal the dataset's.
        batch_videos: videos per network call.
        max_per_video: at most this many detections per video, the highest scores after NMS (0: no limit).
    """

    class_threshold: float = 0.5
    max_classes: int = 0
    scale: int = 24
    cas_thresholds: tuple[float, ...] = tuple(np.arange(0.0, 0.25, 0.025).tolist())
    agnostic_thresholds: tuple[float, ...] = tuple(np.arange(0.5, 0.725, 0.025).tolist())
    outer_ratio: float = 0.25
    gamma: float = 0.2
    nms: str = "soft"
    nms_threshold: float = 0.7
    soft_sigma: float = 0.5
    seconds_per_snippet: float | None = None
    batch_videos: int = 16
    max_per_video: int = 0

    def __post_init__(self):
        self.cas_thresholds, self.agnostic_thresholds = tuple(self.cas_thresholds), tuple(self.agnostic_thresholds)
        if self.nms not in ("soft", "hard"):
            raise ValueError(f"inference.nms must be soft or hard, got {self.nms!r}")
        for name in ("scale", "batch_videos"):
            if getattr(self, name) < 1:
                raise ValueError(f"inference.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_classes", "max_per_video"):
            if getattr(self, name) < 0:
                raise ValueError(f"inference.{name} must be >= 0 (0: no limit), got {getattr(self, name)}")
        if self.seconds_per_snippet is not None and not (isinstance(self.seconds_per_snippet, (int, float))
                                                         and self.seconds_per_snippet > 0):
            raise ValueError(f"inference.seconds_per_snippet must be a number > 0 or unset, got "
                             f"{self.seconds_per_snippet!r}")


def upsample(values: torch.Tensor, lengths: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear interpolation of (B, T, K) at positions 0, 1/scale, 2/scale, ... < T_b, extrapolating past
    the last snippet from the last two (as scipy's interp1d(fill_value="extrapolate") in the release).
    -> ((B, T * scale, K) float64, lengths * scale)."""
    batch, length, _ = values.shape
    position = torch.arange(length * scale, device=values.device, dtype=torch.float64) / scale
    last_left = (lengths - 2).clamp(min=0)[:, None]                                  # (B, 1)
    left = torch.minimum(position.floor().long()[None, :], last_left)               # (B, T')
    right = torch.minimum(left + 1, (lengths - 1).clamp(min=0)[:, None])
    weight = (position[None, :] - left).to(torch.float64)[..., None]
    values = values.to(torch.float64)
    gather = lambda index: torch.gather(values, 1, index[..., None].expand(-1, -1, values.shape[2]))  # noqa: E731
    upsampled = gather(left) * (1 - weight) + gather(right) * weight
    upsampled = torch.where((right == left)[..., None], gather(left), upsampled)  # one-snippet videos
    new_lengths = lengths * scale
    return upsampled * (torch.arange(length * scale, device=values.device)[None, :, None] < new_lengths[:, None, None]), new_lengths


def predict(output: LacpOutput, lengths: torch.Tensor, video_ids: list[str], class_names: list[str],
            settings: InferenceSettings = InferenceSettings(), official: bool = False, *,
            seconds_per_snippet: torch.Tensor) -> Segments:
    """Detections of a batch of videos (network output in eval mode) as a predictions table (seconds), each
    video's snippets lasting ``seconds_per_snippet`` (B,) float64.
    ``official``: the release's quirks: OIC of the CAS-threshold proposals on the zeroed CAS, hard NMS
    with lengths end - start + 1 (seconds) suppressing at IoU >= threshold."""
    batch, _, channels = output.cas.shape
    classes = channels - 1
    predicted = output.video_score >= settings.class_threshold
    predicted[torch.arange(batch), output.video_score.argmax(1)] = True
    if settings.max_classes:
        predicted &= top_k_mask(output.video_score, settings.max_classes)
    pairs = torch.nonzero(predicted)                                                  # (M, 2) video, class
    cas, up_lengths = upsample(output.cas[..., :classes], lengths, settings.scale)
    agnostic, _ = upsample(1 - output.cas[..., classes:], lengths, settings.scale)
    class_cas = cas[pairs[:, 0], :, pairs[:, 1]][..., None]                           # (M, T', 1)
    pair_agnostic = agnostic[pairs[:, 0], :, 0][..., None]
    pair_lengths = up_lengths[pairs[:, 0]]

    found, found_scores = [], []
    for values, thresholds, zeroed in ((class_cas, settings.cas_thresholds, official),
                                       (pair_agnostic, settings.agnostic_thresholds, False)):
        runs, which = threshold_proposals(values, list(thresholds), pair_lengths, return_threshold_index=True)
        if zeroed:  # the release scores these proposals on the CAS with the values below threshold zeroed
            threshold = torch.tensor(thresholds, dtype=torch.float64, device=cas.device)[which]
            sequences = class_cas[runs[:, 0], :, 0]
            sequences = torch.where(sequences < threshold[:, None], torch.zeros_like(sequences), sequences)
            rows = torch.arange(len(runs), device=cas.device)
            lengths_of_rows = pair_lengths[runs[:, 0]]
        else:
            sequences, rows, lengths_of_rows = class_cas[..., 0], runs[:, 0], pair_lengths
        oic = oic_scores(sequences, torch.stack([rows, runs[:, 2], runs[:, 3]], 1), lengths_of_rows,
                         outer_ratio=settings.outer_ratio)
        pair = runs[:, 0]
        found.append(torch.stack([pair, runs[:, 2], runs[:, 3]], 1))
        found_scores.append(oic + settings.gamma * output.video_score[pairs[pair, 0], pairs[pair, 1]].double())
    proposals, scores = torch.cat(found), torch.cat(found_scores)
    step = (seconds_per_snippet.to(torch.float64) / settings.scale)[pairs[proposals[:, 0], 0]]
    segments = torch.stack([proposals[:, 1].double() * step, (proposals[:, 2] + 1).double() * step], 1)
    if settings.nms == "soft" and not official:
        _, scores, keep = soft_nms(segments, scores, proposals[:, 0], method="gaussian", sigma=settings.soft_sigma)
    else:
        keep = temporal_nms(segments, scores, settings.nms_threshold, proposals[:, 0],
                            length_offset=1.0 if official else 0.0, suppress_at_threshold=official)
        scores = scores[keep]
    if settings.max_per_video:
        best = best_per_group(pairs[proposals[keep, 0], 0], scores, settings.max_per_video)
        keep, scores = keep[best], scores[best]
    pair = proposals[keep, 0]
    return Segments(video_ids=list(video_ids), class_names=list(class_names),
                    video=pairs[pair, 0].cpu().numpy().astype(np.int64),
                    start=segments[keep, 0].cpu().numpy(), end=segments[keep, 1].cpu().numpy(),
                    label=pairs[pair, 1].cpu().numpy().astype(np.int64), score=scores.cpu().numpy())
