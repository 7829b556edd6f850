"""APN's losses (docs/apn.md), batched over the B windows of a batch, no per-window loop.

Every instance is an inclusive snippet interval ``[s, e]`` in the coordinates of its window (it may
reach past the window's ends), of length ``d = e - s``; a snippet ``t`` spans ``[t - 0.5, t + 0.5]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ptal.models.apn.network import ProposalOutput
from ptal.ops.internal import segment_iou

PROBABILITY_EPS = 1e-6


def _probability(value: torch.Tensor) -> torch.Tensor:
    """At least float32 (float16 under autocast), kept off 0 and 1 for the logarithms."""
    return value.to(torch.promote_types(value.dtype, torch.float32)).clamp(PROBABILITY_EPS, 1 - PROBABILITY_EPS)


CTR_REDUCTIONS = ("mean", "sum")


@dataclass
class LossWeights:
    """The ``loss`` section of an APN config: L = bdm · L_BDM + pem · L_PEM + ctr · L_CTR (λ1 = pem,
    λ2 = ctr); ``tau`` is L_CTR's temperature; L_CTR counts from iteration ``ctr_after`` + 1 on and is
    averaged over its anchors (``ctr_reduction=mean``) or summed per window (``sum``, the paper's eq. 2)."""

    bdm: float = 1.0
    pem: float = 1.0
    ctr: float = 0.1
    tau: float = 0.1
    ctr_after: int = 0
    ctr_reduction: str = "mean"

    def __post_init__(self):
        if self.ctr_reduction not in CTR_REDUCTIONS:
            raise ValueError(f"loss.ctr_reduction must be one of {', '.join(CTR_REDUCTIONS)}, got {self.ctr_reduction!r}")
        if self.ctr_after < 0:
            raise ValueError(f"loss.ctr_after must be an integer >= 0, got {self.ctr_after}")
        if not self.tau > 0:
            raise ValueError(f"loss.tau must be > 0, got {self.tau}")


# ---- L_BDM --------------------------------------------------------------------------------------------
def boundary_targets(instances: torch.Tensor, num_windows: int, num_snippets: int) -> tuple[torch.Tensor, torch.Tensor]:
    """BMN's start and end targets (B, T) float32 of instances (K, >= 3) ``[window, start, end, ...]``.

    The start region of ``[s, e]`` is ``[s - w/2, s + w/2]`` with ``w = max((e - s) / 5, 1)`` (that is
    ``[s - d/10, s + d/10]``, at least one snippet wide); a snippet's start target is the largest
    fraction of its own span ``[t - 0.5, t + 0.5]`` covered by a start region (likewise for ends).
    """
    targets = torch.zeros(2, num_windows * num_snippets, dtype=torch.float32, device=instances.device)
    if len(instances) == 0:
        return targets[0].view(num_windows, num_snippets), targets[1].view(num_windows, num_snippets)
    window, start, end = instances[:, 0], instances[:, 1].double(), instances[:, 2].double()
    half_width = ((end - start) / 5).clamp(min=1.0) / 2
    t = torch.arange(num_snippets, device=instances.device, dtype=torch.float64)
    flat = (window[:, None] * num_snippets + torch.arange(num_snippets, device=instances.device)).flatten()
    for row, centre in enumerate((start, end)):
        covered = (torch.minimum(t + 0.5, (centre + half_width)[:, None])
                   - torch.maximum(t - 0.5, (centre - half_width)[:, None])).clamp(min=0)  # (K, T)
        targets[row].scatter_reduce_(0, flat, covered.flatten().float(), reduce="amax")
    return targets[0].view(num_windows, num_snippets), targets[1].view(num_windows, num_snippets)


def weighted_logistic_loss(probability: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """BMN's ratio-weighted binary logistic loss over the valid entries: positives (target > 0.5) weigh
    ``0.5 · N / N_pos``, negatives ``0.5 · N / N_neg`` (each count at least 1), averaged over the N valid
    entries."""
    positive = (target > 0.5) & valid
    negative = ~positive & valid
    count = valid.sum().clamp(min=1)
    positive_weight = 0.5 * count / positive.sum().clamp(min=1)
    negative_weight = 0.5 * count / negative.sum().clamp(min=1)
    probability = _probability(probability)
    loss = -(positive_weight * positive * torch.log(probability) + negative_weight * negative * torch.log1p(-probability))
    return loss.sum() / count


def bdm_loss(start_prob: torch.Tensor, end_prob: torch.Tensor, instances: torch.Tensor,
             valid: torch.Tensor) -> torch.Tensor:
    """L_BDM: the weighted logistic loss of p_s and p_e (B, T) against :func:`boundary_targets`."""
    start_target, end_target = boundary_targets(instances, *start_prob.shape)
    return weighted_logistic_loss(start_prob, start_target, valid) + weighted_logistic_loss(end_prob, end_target, valid)


# ---- L_PEM --------------------------------------------------------------------------------------------
@dataclass
class ProposalTargets:
    """The proposals PEM trains on and what they should predict.

    keep: (P',) indices of the proposals that hold exactly one annotated snippet.
    classes: (P', M) 1 for every class annotated at that snippet.
    confidence: (P', M) the tIoU of the proposal with that point's pseudo-labelled instance, per class.
    """

    keep: torch.Tensor
    classes: torch.Tensor
    confidence: torch.Tensor

    def subset(self, positions: torch.Tensor) -> ProposalTargets:
        return ProposalTargets(self.keep[positions], self.classes[positions], self.confidence[positions])


def proposal_targets(proposals: torch.Tensor, points: torch.Tensor, num_classes: int) -> ProposalTargets:
    """Targets of proposals (P, 3) ``[window, start, end]`` from the annotated points (Q, 5)
    ``[window, snippet, class, instance start, instance end]``.

    A proposal is kept when its window's points inside ``[start, end]`` lie on exactly one snippet
    (several classes may be annotated at one snippet, e.g. THUMOS14's CliffDiving and Diving). IoUs are
    over the snippets' spans, ``[start, end + 1]``.
    """
    device = proposals.device
    snippet_key = points[:, 0] * (int(points[:, 1].max()) + 1 if len(points) else 1) + points[:, 1]
    unique_keys, group = torch.unique(snippet_key, return_inverse=True)           # one group per annotated snippet
    inside = ((proposals[:, None, 0] == points[None, :, 0]) & (proposals[:, None, 1] <= points[None, :, 1])
              & (points[None, :, 1] <= proposals[:, None, 2]))                     # (P, Q)
    groups_inside = torch.zeros(len(proposals), len(unique_keys), dtype=torch.bool, device=device)
    groups_inside.index_put_((torch.nonzero(inside)[:, 0], group[torch.nonzero(inside)[:, 1]]),
                             torch.ones((), dtype=torch.bool, device=device))
    keep = torch.nonzero(groups_inside.sum(1) == 1).flatten()
    holds = inside[keep]                                                           # (P', Q): the group's points
    spans = lambda rows: torch.stack([rows[:, 0], rows[:, 1] + 1], 1).double()    # noqa: E731
    iou = segment_iou(spans(proposals[keep, 1:3]), spans(points[:, 3:5])) * holds  # (P', Q)
    classes = torch.zeros(len(keep), num_classes, dtype=torch.float32, device=device)
    confidence = torch.zeros_like(classes)
    pair_proposal, pair_point = torch.nonzero(holds, as_tuple=True)
    classes[pair_proposal, points[pair_point, 2]] = 1
    confidence.index_put_((pair_proposal, points[pair_point, 2]), iou[pair_proposal, pair_point].float(),
                          accumulate=False)
    return ProposalTargets(keep, classes, confidence)


def pem_loss(output: ProposalOutput, targets: ProposalTargets) -> torch.Tensor:
    """L_PEM = mean over the kept proposals of BCE(class probabilities, classes), averaged over the M
    classes, plus BCE(confidence, tIoU) of the annotated classes (averaged over them). Zero without
    proposals."""
    if len(targets.keep) == 0:
        return output.class_prob.sum() * 0 + output.confidence.sum() * 0
    class_prob = _probability(output.class_prob)
    classification = F.binary_cross_entropy(class_prob, targets.classes.to(class_prob.dtype), reduction="none").mean(1)
    confidence = _probability(output.confidence)
    labelled = targets.classes.to(confidence.dtype)
    confidence_loss = (F.binary_cross_entropy(confidence, targets.confidence.to(confidence.dtype), reduction="none")
                       * labelled).sum(1)
    return (classification + confidence_loss / labelled.sum(1)).mean()


# ---- L_CTR --------------------------------------------------------------------------------------------
def region_means(embedded: torch.Tensor, lengths: torch.Tensor, regions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Means of ``embedded`` (B, T, E) over inclusive snippet ranges (R, 3) ``[window, lo, hi]`` clipped to
    each window -> ((R, E) means, (R,) bool: the clipped range is not empty; its mean is 0 otherwise).
    Differentiable w.r.t. ``embedded`` (through prefix sums, in float64)."""
    window = regions[:, 0]
    lo = regions[:, 1].clamp(min=0)
    hi = torch.minimum(regions[:, 2], lengths[window] - 1)
    nonempty = lo <= hi
    prefix = F.pad(torch.cumsum(embedded.double(), dim=1), (0, 0, 1, 0))          # (B, T + 1, E)
    lo, hi = torch.where(nonempty, lo, 0), torch.where(nonempty, hi, -1)
    sums = prefix[window, hi + 1] - prefix[window, lo]
    return (sums / (hi - lo + 1).clamp(min=1)[:, None]).to(embedded.dtype), nonempty


def boundary_regions(instances: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The start and end regions (K, 3) ``[window, lo, hi]`` of instances ``[window, s, e, ...]``: the
    snippets within ``d / 10`` of the boundary (``d = e - s``), which always include the boundary."""
    window, start, end = instances[:, 0], instances[:, 1], instances[:, 2]
    reach = (end - start) // 10  # |t - s| <= d / 10 for integers t, s
    return (torch.stack([window, start - reach, start + reach], 1),
            torch.stack([window, end - reach, end + reach], 1))


def contrastive_loss(features: torch.Tensor, groups: torch.Tensor, background: torch.Tensor,
                     background_windows: torch.Tensor, windows: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """The sum over anchors of paper eq. 1.

    features (K, E): one boundary feature per instance; groups (K,): its (window, class) group; windows
    (K,): its window; background (Q, E) with background_windows (Q,). For an anchor ``i`` whose group has
    other members: ``-log(Σ_p exp(x_i·x_p/τ) / (Σ_p exp(x_i·x_p/τ) + Σ_k exp(x_i·x_k/τ)))``, p over the
    other members of its group, k over the background features of its window; features L2-normalised.
    """
    dtype = torch.promote_types(features.dtype, torch.float32)
    x = F.normalize(features.to(dtype), dim=-1)
    b = F.normalize(background.to(dtype), dim=-1)
    positive = (groups[:, None] == groups[None, :]) & ~torch.eye(len(groups), dtype=torch.bool, device=groups.device)
    anchors = positive.any(1)
    if not bool(anchors.any()):
        return features.sum() * 0, 0
    negative = windows[:, None] == background_windows[None, :]
    logits = torch.cat([x @ x.T, x @ b.T], 1) / tau
    minus_inf = torch.finfo(logits.dtype).min
    numerator = torch.logsumexp(logits.masked_fill(~torch.cat([positive, torch.zeros_like(negative)], 1), minus_inf), 1)
    denominator = torch.logsumexp(logits.masked_fill(~torch.cat([positive, negative], 1), minus_inf), 1)
    return (denominator - numerator)[anchors].sum(), int(anchors.sum())


def ctr_loss(embedded: torch.Tensor, lengths: torch.Tensor, instances: torch.Tensor, background: torch.Tensor,
             tau: float = 0.1, mean: bool = False) -> torch.Tensor:
    """L_CTR of a batch of windows: eq. 2 summed within each window, averaged over the B windows.

    instances (K, >= 4) ``[window, s, e, class, ...]`` (the pseudo-labelled instances whose point is in
    the window), background (Q, 3) ``[window, s, e]``; ranges are clipped to their window and an instance
    whose clipped region is empty takes no part. Only groups (window, class) of >= 2 instances contrast.
    ``mean``: divided by the number of anchors (instance boundaries that contrast) instead of windows.
    """
    num_windows = embedded.shape[0]
    background_means, background_ok = region_means(embedded, lengths, background)
    background_means, background_windows = background_means[background_ok], background[background_ok, 0]
    total, anchors = embedded.sum() * 0, 0
    groups = instances[:, 0] * (int(instances[:, 3].max()) + 1 if len(instances) else 1) + instances[:, 3]
    for regions in boundary_regions(instances):
        means, ok = region_means(embedded, lengths, regions)
        loss, count = contrastive_loss(means[ok], groups[ok], background_means, background_windows,
                                       instances[ok, 0], tau)
        total, anchors = total + loss, anchors + count
    return total / max(anchors if mean else num_windows, 1)
