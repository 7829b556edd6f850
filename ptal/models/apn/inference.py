"""APN's inference (docs/apn.md, "Training and inference"), batched over windows: proposals
from the boundary probabilities, PEM, score = class probability × confidence × p_s[s] × p_e[e], then the
windows' proposals merged per video, per-class NMS and the best ``top_k`` per video."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ptal.models.apn.losses import region_means
from ptal.models.apn.network import ApnNetwork
from ptal.models.common import top_k_mask
from ptal.ops.internal import generate_proposals, soft_nms, temporal_nms

NMS_METHODS = ("hard", "soft")
CLASS_SOURCES = ("pem", "snippets", "both")


@dataclass
class ProposalSettings:
    """The ``proposals`` section of an APN config: candidate segments ``[s, e]`` of a window with
    ``d_min <= e - s <= d_max`` snippets, the ``max_proposals`` of highest p_s[s] · p_e[e] per window;
    the PEM trains on at most ``train_per_window`` of a window's one-point proposals, drawn at random."""

    d_min: int = 1
    d_max: int = 64
    max_proposals: int = 1000
    train_per_window: int = 64

    def __post_init__(self):
        if not 0 <= self.d_min <= self.d_max:
            raise ValueError(f"proposals.d_min and d_max must satisfy 0 <= d_min <= d_max, got {self.d_min}, {self.d_max}")
        for name in ("max_proposals", "train_per_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"proposals.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class InferenceSettings:
    """The ``inference`` section of an APN config.

    Attributes:
        nms: ``soft`` (BMN's Gaussian soft-NMS, sigma ``soft_sigma``) or ``hard`` (NMS at ``nms_threshold``).
        top_k: detections kept per video.
        max_classes: at most this many classes per video, those of its best detections (a class's video-level
            score: its best detection's score after NMS); 0: no limit.
        boundary_score: the score includes p_s[s] · p_e[e] (else class probability × confidence).
        classes_per_proposal: a detection for each of a proposal's k most probable classes (the paper: 1).
        class_source: a proposal's class probabilities: ``pem``, the PEM's classifier (the paper);
            ``snippets``, the snippet classifier's probabilities averaged over the proposal's snippets;
            ``both``, the geometric mean of the two.
        snippet_contrast: with the snippets, a proposal's class probability less its mean over this fraction
            of its length on each side (an outer-inner contrast; 0: off).
        batch_windows: windows per network call; pem_chunk: proposals per PEM call (memory).
    """

    nms: str = "soft"
    nms_threshold: float = 0.5
    soft_sigma: float = 0.5
    top_k: int = 200
    max_classes: int = 0
    boundary_score: bool = True
    classes_per_proposal: int = 2
    class_source: str = "pem"
    snippet_contrast: float = 0.0
    batch_windows: int = 16
    pem_chunk: int = 4096

    def __post_init__(self):
        if self.nms not in NMS_METHODS:
            raise ValueError(f"inference.nms must be one of {', '.join(NMS_METHODS)}, got {self.nms!r}")
        if self.class_source not in CLASS_SOURCES:
            raise ValueError(f"inference.class_source must be one of {', '.join(CLASS_SOURCES)}, "
                             f"got {self.class_source!r}")
        for name in ("top_k", "pem_chunk", "classes_per_proposal", "batch_windows"):
            if getattr(self, name) < 1:
                raise ValueError(f"inference.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.snippet_contrast <= 10:
            raise ValueError(f"inference.snippet_contrast must be in [0, 10], got {self.snippet_contrast!r}")
        if self.max_classes < 0:
            raise ValueError(f"inference.max_classes must be >= 0 (0: no limit), got {self.max_classes}")


@dataclass
class WindowDetections:
    """Scored proposals of a batch of windows: proposals (P, 3) int64 ``[window, start, end]``, label (P,)
    one of the classifier's ``classes_per_proposal`` most probable classes, score (P,) float32 (a proposal
    appears once per class)."""

    proposals: torch.Tensor
    label: torch.Tensor
    score: torch.Tensor


def detect(model: ApnNetwork, features: torch.Tensor, lengths: torch.Tensor, proposal_settings: ProposalSettings,
           settings: InferenceSettings) -> WindowDetections:
    """Every proposal of a padded batch of windows (B, T, D), scored (model in eval mode)."""
    boundary = model(features, lengths).boundary
    proposals, _ = generate_proposals(boundary.start_prob.float(), boundary.end_prob.float(), lengths,
                                      d_min=proposal_settings.d_min, d_max=proposal_settings.d_max,
                                      max_proposals=proposal_settings.max_proposals)
    # The snippet classifier's class probabilities (B, T, M), once for every chunk of proposals.
    snippet_prob = (None if settings.class_source == "pem"
                    else torch.softmax(boundary.snippet_logits.float(), -1)[..., :-1])
    rows, labels, scores = [], [], []
    for first, chunk in zip(range(0, len(proposals), settings.pem_chunk), torch.split(proposals, settings.pem_chunk)):
        output = model.evaluate_proposals(boundary.embedded, chunk, lengths)
        class_prob = proposal_class_prob(output.class_prob, snippet_prob, chunk, lengths, settings)
        k = min(settings.classes_per_proposal, class_prob.shape[1])
        best = class_prob.topk(k, dim=1).indices.flatten()  # (P_chunk * k,), by proposal then rank
        row = torch.arange(len(chunk), device=chunk.device).repeat_interleave(k)
        score = class_prob[row, best] * output.confidence[row, best]
        if settings.boundary_score:
            score = score * boundary.start_prob[chunk[row, 0], chunk[row, 1]] * boundary.end_prob[chunk[row, 0], chunk[row, 2]]
        rows.append(row + first)
        labels.append(best)
        scores.append(score.float())
    empty = torch.zeros(0, device=features.device)
    if not rows:
        return WindowDetections(proposals, empty.long(), empty)
    return WindowDetections(proposals[torch.cat(rows)], torch.cat(labels), torch.cat(scores))


def proposal_class_prob(pem_prob: torch.Tensor, snippet_prob: torch.Tensor | None, proposals: torch.Tensor,
                        lengths: torch.Tensor, settings: InferenceSettings) -> torch.Tensor:
    """(P, M) class probabilities of proposals (P, 3) ``[window, start, end]`` from ``settings.class_source``: the
    PEM's ``pem_prob`` (P, M); the snippet classifier's ``snippet_prob`` (B, T, M: its softmax's class columns)
    averaged over each proposal's snippets, less, with ``snippet_contrast`` c > 0, its mean over the
    ``ceil(c · length)`` snippets on each side (those inside the window; at least 1e-6); or the geometric mean of
    the two."""
    if settings.class_source == "pem":
        return pem_prob
    inner, _ = region_means(snippet_prob, lengths, proposals)
    if settings.snippet_contrast:
        window, start, end = proposals.unbind(1)
        reach = torch.ceil((end - start + 1) * settings.snippet_contrast).long()
        before, has_before = region_means(snippet_prob, lengths, torch.stack([window, start - reach, start - 1], 1))
        after, has_after = region_means(snippet_prob, lengths, torch.stack([window, end + 1, end + reach], 1))
        sides = (has_before.float() + has_after.float()).clamp(min=1)[:, None]
        inner = (inner - (before + after) / sides).clamp(min=1e-6)  # an empty side's mean is 0
    return inner if settings.class_source == "snippets" else (inner * pem_prob).sqrt()


def suppress(video: torch.Tensor, segments: torch.Tensor, label: torch.Tensor, score: torch.Tensor,
             num_classes: int, settings: InferenceSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-(video, class) NMS of detections (segments (P, 2) float64 seconds), then each video's
    ``top_k`` best -> (indices into the inputs, their scores after NMS), by video then decreasing score."""
    groups = video * num_classes + label
    if settings.nms == "hard":
        keep = temporal_nms(segments, score.double(), settings.nms_threshold, groups)
        kept_score = score.double()[keep]
    else:
        _, kept_score, keep = soft_nms(segments, score.double(), groups, method="gaussian", sigma=settings.soft_sigma,
                                       min_score=0.0, max_keep=settings.top_k)
    if settings.max_classes:
        chosen = _best_classes(video[keep], label[keep], kept_score, num_classes, settings.max_classes)
        keep, kept_score = keep[chosen], kept_score[chosen]
    by_video = torch.argsort(video[keep], stable=True)  # both NMS return decreasing scores: kept within a video
    keep, kept_score = keep[by_video], kept_score[by_video]
    kept_video = video[keep]
    first = torch.searchsorted(kept_video, kept_video, right=False)
    rank = torch.arange(len(keep), device=keep.device) - first
    return keep[rank < settings.top_k], kept_score[rank < settings.top_k]


def _best_classes(video: torch.Tensor, label: torch.Tensor, score: torch.Tensor, num_classes: int,
                  k: int) -> torch.Tensor:
    """(P,) bool: the detections whose class is one of their video's ``k`` classes of highest best score."""
    if len(video) == 0:
        return torch.zeros(0, dtype=torch.bool, device=video.device)
    best = torch.full((int(video.max()) + 1, num_classes), -torch.inf, dtype=score.dtype, device=score.device)
    best.view(-1).scatter_reduce_(0, video * num_classes + label, score, "amax")
    return top_k_mask(best, k)[video, label]


def to_seconds(start: torch.Tensor, end: torch.Tensor, seconds_per_snippet: torch.Tensor) -> torch.Tensor:
    """Inclusive snippet ranges (P,) as (P, 2) float64 seconds ``[start, end + 1] · s``, with s (P,) float64 the
    snippet duration of each range's video."""
    return torch.stack([start.double(), end.double() + 1], 1) * seconds_per_snippet[:, None]
