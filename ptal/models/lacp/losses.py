"""LACP's losses, batched over padded videos (docs/lacp.md, "Losses").

ptal's defaults follow the paper: the score-contrastive loss is the mean over a video's searched classes
of 1 - R(pi_c), R being the mean OIC of the segments of the class's pseudo labels, and the
feature-contrastive loss averages over the classes with >= 2 action segments. ``official=True``
reproduces the release's quirks: over every labelled class, L_act = the mean of 1 - OIC over all
action runs, L_bkg likewise over background runs, L_score = (L_act + L_bkg)^2 per video; the feature
loss keeps only the last qualifying class of a video. Every loss is computed per video and averaged over
the batch, which equals the release's one-video-at-a-time gradient accumulation.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ptal.data import valid_mask
from ptal.models.lacp.network import LacpOutput
from ptal.ops.internal import oic_scores, select_seeds, threshold_proposals


@dataclass
class LossWeights:
    """The ``loss`` section of a LACP config: the lambdas of L = video · L_video + point · L_point +
    background · L_bkg + score · L_score + feature · L_feature (score, feature: the completeness losses,
    on pseudo labels from the sequence search)."""

    video: float = 1.0
    point: float = 0.5
    background: float = 1.0
    score: float = 1.0
    feature: float = 1.0


def focal_bce(cas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Element-wise focal-weighted BCE: (1 - p)^2 BCE where target = 1, p^2 BCE where target = 0."""
    weight = torch.where(target > 0, 1 - cas, cas) ** 2
    return weight * F.binary_cross_entropy(cas.clamp(1e-7, 1 - 1e-7), target, reduction="none")


def point_losses(cas: torch.Tensor, points: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Focal point losses of each video (B,): action (points, background channel 0) and background (a
    one-hot background target at the background seeds of select_seeds on the detached CAS). Each is a
    sum over its snippets and channels divided by the number of those snippets (at least 1)."""
    batch, length, channels = cas.shape
    action_target = torch.cat([points, points.new_zeros(batch, length, 1)], dim=-1)
    at_point = points.amax(-1)
    action = (focal_bce(cas, action_target).sum(-1) * at_point).sum(1) / at_point.sum(1).clamp(min=1)
    _, bkg_seed = select_seeds(cas.detach(), points, lengths)
    background_target = torch.zeros_like(cas)
    background_target[..., -1] = 1
    background = (focal_bce(cas, background_target).sum(-1) * bkg_seed).sum(1) / bkg_seed.sum(1).clamp(min=1)
    return action, background


@dataclass
class PseudoSegments:
    """The runs of the pseudo labels of every searched (video, class): rows of sequences (B*C, T), ordered by
    row, then start. ``num_pairs`` (the distinct rows) and ``max_per_pair`` (the most runs of one row) are the
    host sizes of the feature loss's tensors; None: read from ``rows`` when needed (a device read)."""
    rows: torch.Tensor       # (K,) int64: video * C + class
    starts: torch.Tensor     # (K,) int64
    ends: torch.Tensor       # (K,) int64, inclusive
    is_action: torch.Tensor  # (K,) bool
    num_pairs: int | None = None
    max_per_pair: int | None = None

    def pair_sizes(self) -> tuple[int, int]:
        """(num_pairs, max_per_pair)."""
        if self.num_pairs is None or self.max_per_pair is None:
            counts = torch.unique_consecutive(self.rows, return_counts=True)[1]
            return counts.numel(), int(counts.max()) if counts.numel() else 0
        return self.num_pairs, self.max_per_pair


def searched_pairs(video_labels: torch.Tensor, pseudo_labels: torch.Tensor, official: bool) -> torch.Tensor:
    """(B, C) bool: the pairs whose pseudo segments the completeness losses use: the labelled classes with an
    action run (``official``: every labelled class, as the release)."""
    return video_labels.bool() if official else video_labels.bool() & pseudo_labels.bool().any(1)


def pseudo_segments(pseudo_labels: torch.Tensor, searched: torch.Tensor, lengths: torch.Tensor) -> PseudoSegments:
    """Action runs and background runs of ``pseudo_labels`` (B, T, C) for the (video, class) pairs with
    ``searched`` (B, C) true, in temporal order within each pair. One threshold_proposals call: its output
    size is read from the device once."""
    batch, length, classes = pseudo_labels.shape
    action = pseudo_labels.float() * searched[:, None, :]
    background = (1 - pseudo_labels.float()) * searched[:, None, :] * valid_mask(lengths, length)[..., None]
    segments = threshold_proposals(torch.cat([action, background], 2), [0.5], lengths)  # channels: action, then bkg
    is_action = segments[:, 1] < classes
    rows = segments[:, 0] * classes + segments[:, 1] % classes
    order = torch.argsort(rows * (length + 1) + segments[:, 2])  # by pair, then start
    return PseudoSegments(rows[order], segments[order, 2], segments[order, 3], is_action[order])


def segment_oic(cas: torch.Tensor, segments: PseudoSegments, lengths: torch.Tensor) -> torch.Tensor:
    """(K,) OIC of every segment, on cas[..., class] for action segments and 1 - cas for background ones
    (sequences B*C .. 2*B*C - 1 of one oic_scores call)."""
    batch, length, channels = cas.shape
    classes = channels - 1
    sequences = cas[..., :classes].transpose(1, 2).reshape(batch * classes, length)
    rows = segments.rows + (~segments.is_action).long() * (batch * classes)
    return oic_scores(torch.cat([sequences, 1 - sequences]), torch.stack([rows, segments.starts, segments.ends], 1),
                      lengths.repeat_interleave(classes).repeat(2))


def score_loss(cas: torch.Tensor, segments: PseudoSegments, lengths: torch.Tensor) -> torch.Tensor:
    """(B,) mean over each video's searched classes of 1 - R(pi_c), R = mean OIC of the class's segments
    (on cas for action segments, 1 - cas for background ones); 0 for a video without searched classes."""
    batch, _, channels = cas.shape
    classes = channels - 1
    oic = segment_oic(cas, segments, lengths)
    per_pair = torch.zeros(batch * classes, dtype=cas.dtype, device=cas.device).index_add(0, segments.rows, oic)
    count = _counts(segments.rows, batch * classes)
    completeness = (1 - per_pair / count.clamp(min=1)).reshape(batch, classes)
    searched = (count > 0).reshape(batch, classes)
    return (completeness * searched).sum(1) / searched.sum(1).clamp(min=1)


def official_score_loss(cas: torch.Tensor, segments: PseudoSegments, lengths: torch.Tensor) -> torch.Tensor:
    """(B,) the release's score loss: (L_act + L_bkg)^2, L_act = mean of 1 - OIC over the video's action
    runs (all classes together), L_bkg likewise over its background runs (a mean over no run is 0)."""
    batch, _, channels = cas.shape
    videos = segments.rows // (channels - 1)
    incompleteness = 1 - segment_oic(cas, segments, lengths)
    total = cas.new_zeros(())
    for is_action in (True, False):
        chosen = (segments.is_action == is_action).to(cas.dtype)
        summed = cas.new_zeros(batch).index_add(0, videos, incompleteness * chosen)
        count = cas.new_zeros(batch).index_add(0, videos, chosen)
        total = total + summed / count.clamp(min=1)
    return total ** 2


def _counts(values: torch.Tensor, size: int) -> torch.Tensor:
    """(size,) int64: how often each of 0 .. size - 1 occurs in ``values``: bincount without its device read
    (torch.bincount reads the maximum on a GPU)."""
    return torch.zeros(size, dtype=torch.int64, device=values.device).index_add_(0, values, torch.ones_like(values))


def sample_thirds(starts: torch.Tensor, ends: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """(K, 3) snippet indices, one drawn in each third of each segment [start, end] (inclusive), as the
    release does: third i spans [int(s + i*len/3), int(s + (i+1)*len/3)) (widened to one snippet), and
    ``uniform`` (K, 3) in [0, 1) picks inside it."""
    size = (ends - starts + 1).to(torch.float64)
    step = size / 3
    third = torch.arange(3, device=starts.device, dtype=torch.float64)
    low = (starts[:, None] + step[:, None] * third).to(torch.int64)  # int() truncation: values are >= 0
    high = (starts[:, None] + step[:, None] * (third + 1)).to(torch.int64)
    high = torch.where(low >= high, high + 1, high)
    return low + (uniform.to(torch.float64) * (high - low)).to(torch.int64)


def feature_loss(embedded: torch.Tensor, segments: PseudoSegments, uniform: torch.Tensor, num_classes: int,
                 tau: float = 0.1, last_class_only: bool = False) -> torch.Tensor:
    """(B,) feature-contrastive loss: per (video, class) with >= 2 action segments, segment features
    (mean of 3 embedded features sampled in the segment's thirds with ``uniform`` (K, 3) draws,
    L2-normalised), similarities exp(f_i . f_j / tau) with a zero diagonal, q_j = sum over action i of
    sim_ij / sum over i of sim_ij, loss = -mean over action j of log q_j; averaged over the video's
    qualifying classes, or (``last_class_only``, the release) that of its last qualifying class; 0 if none."""
    batch = embedded.shape[0]
    videos = segments.rows // num_classes
    picks = sample_thirds(segments.starts, segments.ends, uniform)
    features = F.normalize(embedded[videos[:, None], picks].mean(1), dim=-1)            # (K, H)
    num_pairs, max_per_pair = segments.pair_sizes()
    index = torch.arange(len(segments.rows), device=features.device)
    first = torch.ones_like(segments.rows, dtype=torch.bool)  # the first segment of each pair
    first[1:] = segments.rows[1:] != segments.rows[:-1]
    slot = torch.cumsum(first, 0) - 1
    position = index - torch.cummax(torch.where(first, index, 0), 0).values
    padded = features.new_zeros(num_pairs, max_per_pair, features.shape[1])
    padded[slot, position] = features
    action = torch.zeros(padded.shape[:2], dtype=features.dtype, device=features.device)
    action[slot, position] = segments.is_action.to(features.dtype)
    present = torch.zeros(padded.shape[:2], dtype=torch.bool, device=features.device)
    present[slot, position] = True
    similarity = torch.exp(padded @ padded.transpose(1, 2) / tau)
    similarity = similarity * (present[:, :, None] & present[:, None, :])
    similarity = similarity * (1 - torch.eye(similarity.shape[1], dtype=features.dtype, device=features.device))
    q = (similarity * action[:, :, None]).sum(1) / similarity.sum(1).clamp(min=1e-12)
    num_action = action.sum(1)
    per_pair = -(torch.log(q.clamp(min=1e-12)) * action).sum(1) / num_action.clamp(min=1)
    qualifying = num_action >= 2
    pair_video = torch.zeros(num_pairs, dtype=torch.int64, device=features.device).scatter_(0, slot, videos)
    if last_class_only:  # pairs are in (video, class) order: keep each video's last qualifying one
        pair_index = torch.arange(num_pairs, device=features.device)
        last = torch.full((batch,), -1, dtype=torch.int64, device=features.device)
        last = last.scatter_reduce(0, pair_video, torch.where(qualifying, pair_index, -1), "amax")
        qualifying = qualifying & (last[pair_video] == pair_index)
    total = torch.zeros(batch, dtype=features.dtype, device=features.device).index_add(0, pair_video, per_pair * qualifying)
    count = torch.zeros(batch, dtype=features.dtype, device=features.device).index_add(0, pair_video, qualifying.to(features.dtype))
    return total / count.clamp(min=1)


def lacp_losses(output: LacpOutput, video_labels: torch.Tensor, points: torch.Tensor, lengths: torch.Tensor,
                pseudo_labels: torch.Tensor | PseudoSegments | None, uniform: torch.Tensor | None = None,
                weights: LossWeights = LossWeights(), official: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss (mean over the batch's videos) and its parts.

    ``pseudo_labels`` (B, T, C) from the last sequence search, or their segments (:func:`pseudo_segments`
    of the searched pairs, which a caller can keep from one search to the next: then no step reads the
    device), or None before the first search (the completeness losses are then 0). ``uniform`` (B, C, T, 3)
    in [0, 1): the random draws of the
    feature loss (a segment of class c starting at t uses uniform[video, c, t]); drawn from torch's RNG
    when None. ``official``: the release's quirks (module docstring).
    """
    video = F.binary_cross_entropy(output.video_score.clamp(1e-7, 1 - 1e-7), video_labels, reduction="none").mean(1)
    point, background = point_losses(output.cas, points, lengths)
    parts = {"video": video.mean(), "point": point.mean(), "background": background.mean()}
    zero = output.cas.new_zeros(())
    parts["score"] = parts["feature"] = zero
    segments = pseudo_labels
    if isinstance(pseudo_labels, torch.Tensor):
        segments = pseudo_segments(pseudo_labels, searched_pairs(video_labels, pseudo_labels, official), lengths)
    if segments is not None:
        if len(segments.rows):
            score = official_score_loss if official else score_loss
            parts["score"] = score(output.cas, segments, lengths).mean()
            classes = video_labels.shape[1]
            draws = (torch.rand(len(segments.rows), 3, device=output.cas.device) if uniform is None
                     else uniform[segments.rows // classes, segments.rows % classes, segments.starts])
            parts["feature"] = feature_loss(output.embedded, segments, draws, classes,
                                            last_class_only=official).mean()
    total = (weights.video * parts["video"] + weights.point * parts["point"] + weights.background * parts["background"]
             + weights.score * parts["score"] + weights.feature * parts["feature"])
    return total, parts
