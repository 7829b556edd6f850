"""APN's losses (docs/apn.md), batched over the B windows of a batch, no per-window loop.

Every instance is an inclusive snippet interval ``[s, e]`` in the coordinates of its window (it may
reach past the window's ends), of length ``d = e - s``; a snippet ``t`` spans ``[t - 0.5, t + 0.5]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ptal.models.apn.network import ProposalOutput

PROBABILITY_EPS = 1e-6


def _probability(value: torch.Tensor) -> torch.Tensor:
    """At least float32 (float16 under autocast), kept off 0 and 1 for the logarithms."""
    return value.to(torch.promote_types(value.dtype, torch.float32)).clamp(PROBABILITY_EPS, 1 - PROBABILITY_EPS)


CTR_REDUCTIONS = ("mean", "sum")


@dataclass
class LossWeights:
    """The ``loss`` section of an APN config: L = bdm · L_BDM + pem · L_PEM + ctr · L_CTR (λ1 = pem,
    λ2 = ctr), + snippets · L_SNIP with ``model.snippet_classifier``; ``tau`` is L_CTR's temperature; L_CTR counts from iteration ``ctr_after`` + 1 on and is
    averaged over its anchors (``ctr_reduction=mean``) or summed per window (``sum``, the paper's eq. 2)."""

    bdm: float = 1.0
    pem: float = 1.0
    ctr: float = 0.1
    snippets: float = 1.0
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
    """What PEM should predict for proposals (shapes ``(...)``: (B, C) per window, or (P,) flattened).

    keep: (...) bool, the proposal holds exactly one annotated snippet: PEM trains on it.
    classes: (..., M) 1 for every class annotated at that snippet.
    confidence: (..., M) the tIoU of the proposal with that point's pseudo-labelled instance, per class.
    """

    keep: torch.Tensor
    classes: torch.Tensor
    confidence: torch.Tensor

    def chosen(self, index: torch.Tensor) -> ProposalTargets:
        """The targets of proposals ``index`` (B, S) of each window, flattened to (B·S, ...)."""
        flat = lambda t: t.flatten(0, 1)  # noqa: E731
        rows = index[:, :, None].expand(-1, -1, self.classes.shape[-1])
        return ProposalTargets(flat(self.keep.gather(1, index)), flat(self.classes.gather(1, rows)),
                               flat(self.confidence.gather(1, rows)))


def proposal_targets(pairs: torch.Tensor, valid: torch.Tensor, points: torch.Tensor, num_classes: int) -> ProposalTargets:
    """Targets of each window's proposals (B, C, 2) ``[start, end]`` where ``valid`` (B, C), from its annotated
    points (B, Q, 4) ``[snippet, class, instance start, instance end]`` ordered by snippet, padded with
    snippet -1.

    A proposal is kept when the points inside ``[start, end]`` lie on exactly one snippet (several classes
    may be annotated at one snippet, e.g. THUMOS14's CliffDiving and Diving). IoUs are over the snippets'
    spans, ``[start, end + 1]``. Fixed shapes, no host read (the training step's rule, ptal.train.sync).
    """
    snippet = points[:, None, :, 0]                                                    # (B, 1, Q)
    inside = (pairs[:, :, None, 0] <= snippet) & (snippet <= pairs[:, :, None, 1]) & valid[:, :, None]  # (B, C, Q)
    first_of_snippet = points[:, :, 0] != F.pad(points[:, :-1, 0], (1, 0), value=-2)  # (B, Q)
    keep = (inside & first_of_snippet[:, None, :]).sum(-1) == 1
    holds = inside & keep[:, :, None]                                                  # (B, C, Q): its points
    start, end = pairs[:, :, None, 0].double(), pairs[:, :, None, 1].double() + 1
    instance_start, instance_end = points[:, None, :, 2].double(), points[:, None, :, 3].double() + 1
    overlap = (torch.minimum(end, instance_end) - torch.maximum(start, instance_start)).clamp(min=0)
    iou = overlap / ((end - start) + (instance_end - instance_start) - overlap)          # (B, C, Q)
    # A kept proposal holds one snippet, whose classes differ: at most one point per (proposal, class).
    label = points[:, None, :, 1].clamp(min=0).expand(holds.shape)
    empty = torch.zeros(*holds.shape[:2], num_classes, dtype=torch.float32, device=pairs.device)
    classes = empty.scatter_reduce(2, label, holds.float(), "amax")
    confidence = empty.scatter_reduce(2, label, torch.where(holds, iou, 0).float(), "amax")
    return ProposalTargets(keep, classes, confidence)


def pem_loss(output: ProposalOutput, targets: ProposalTargets) -> torch.Tensor:
    """L_PEM = mean over the kept proposals (P,) of BCE(class probabilities, classes), averaged over the M
    classes, plus BCE(confidence, tIoU) of the annotated classes (averaged over them). Zero without kept
    proposals."""
    class_prob = _probability(output.class_prob)
    classification = F.binary_cross_entropy(class_prob, targets.classes.to(class_prob.dtype), reduction="none").mean(1)
    confidence = _probability(output.confidence)
    labelled = targets.classes.to(confidence.dtype)
    confidence_loss = (F.binary_cross_entropy(confidence, targets.confidence.to(confidence.dtype), reduction="none")
                       * labelled).sum(1)
    per_proposal = classification + confidence_loss / labelled.sum(1).clamp(min=1)
    return (per_proposal * targets.keep).sum() / targets.keep.sum().clamp(min=1)


# ---- L_SNIP (ptal's snippet classifier) ----------------------------------------------------------------
def snippet_targets(instances: torch.Tensor, background: torch.Tensor, lengths: torch.Tensor, num_snippets: int,
                    num_classes: int) -> torch.Tensor:
    """(B, T, M + 1) float32 class distributions of the snippets of B windows: uniform over the classes of the
    instances (K, >= 4) ``[window, s, e, class, ...]`` covering a snippet, else background (column M) where a
    background cluster (Q, 3) ``[window, s, e]`` covers it, else all zero (no label). Ranges are clipped to
    each window's length."""
    t = torch.arange(num_snippets, device=lengths.device)
    target = torch.zeros(len(lengths), num_snippets, num_classes + 1, dtype=torch.float32, device=lengths.device)
    for rows, column in ((background, torch.full_like(background[:, 0], num_classes)), (instances, instances[:, 3])):
        window = rows[:, 0]
        covered = ((t >= rows[:, 1:2]) & (t <= rows[:, 2:3]) & (t < lengths[window][:, None])).float()  # (R, T)
        flat = (window[:, None] * num_snippets + t) * (num_classes + 1) + column[:, None]
        target.view(-1).scatter_reduce_(0, flat.flatten(), covered.flatten(), "amax")
    action = target[..., :num_classes].sum(-1, keepdim=True)
    target[..., num_classes:] *= action == 0  # an action snippet inside a background cluster is action
    return target / target.sum(-1, keepdim=True).clamp(min=1)


def snippet_loss(logits: torch.Tensor, lengths: torch.Tensor, instances: torch.Tensor,
                 background: torch.Tensor) -> torch.Tensor:
    """L_SNIP: the cross-entropy of the snippet logits (B, T, M + 1) against :func:`snippet_targets`, averaged over
    the labelled snippets (zero without any)."""
    target = snippet_targets(instances, background, lengths, logits.shape[1], logits.shape[2] - 1)
    labelled = target.sum(-1) > 0
    loss = -(target * torch.log_softmax(logits.float(), -1)).sum(-1)
    return (loss * labelled).sum() / labelled.sum().clamp(min=1)


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


def contrastive_loss(features: torch.Tensor, classes: torch.Tensor, background: torch.Tensor,
                     background_windows: torch.Tensor, windows: torch.Tensor, tau: float = 0.1,
                     ok: torch.Tensor | None = None,
                     background_ok: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The sum over anchors of paper eq. 1, and the number of anchors (tensors).

    features (K, E): one boundary feature per instance; classes (K,) and windows (K,): its class and window;
    background (Q, E) with background_windows (Q,). Only rows where ``ok`` (K,) / ``background_ok`` (Q,) (default:
    all) take part. For an anchor ``i`` whose (window, class) group has other members:
    ``-log(Σ_p exp(x_i·x_p/τ) / (Σ_p exp(x_i·x_p/τ) + Σ_k exp(x_i·x_k/τ)))``, p over the other members of its
    group, k over the background features of its window; features L2-normalised.
    """
    dtype = torch.promote_types(features.dtype, torch.float32)
    x = F.normalize(features.to(dtype), dim=-1)
    b = F.normalize(background.to(dtype), dim=-1)
    ok = torch.ones_like(windows, dtype=torch.bool) if ok is None else ok
    background_ok = torch.ones_like(background_windows, dtype=torch.bool) if background_ok is None else background_ok
    positive = ((windows[:, None] == windows[None, :]) & (classes[:, None] == classes[None, :]) & ok[:, None]
                & ok[None, :] & ~torch.eye(len(windows), dtype=torch.bool, device=windows.device))
    anchors = positive.any(1)
    negative = (windows[:, None] == background_windows[None, :]) & background_ok[None, :]
    logits = torch.cat([x @ x.T, x @ b.T], 1) / tau
    minus_inf = torch.finfo(logits.dtype).min
    numerator = torch.logsumexp(logits.masked_fill(~torch.cat([positive, torch.zeros_like(negative)], 1), minus_inf), 1)
    denominator = torch.logsumexp(logits.masked_fill(~torch.cat([positive, negative], 1), minus_inf), 1)
    return torch.where(anchors, denominator - numerator, 0).sum(), anchors.sum()


def ctr_loss(embedded: torch.Tensor, lengths: torch.Tensor, instances: torch.Tensor, background: torch.Tensor,
             tau: float = 0.1, mean: bool = False) -> torch.Tensor:
    """L_CTR of a batch of windows: eq. 2 summed within each window, averaged over the B windows.

    instances (K, >= 4) ``[window, s, e, class, ...]`` (the pseudo-labelled instances whose point is in
    the window), background (Q, 3) ``[window, s, e]``; ranges are clipped to their window and an instance
    whose clipped region is empty takes no part. Only groups (window, class) of >= 2 instances contrast.
    ``mean``: divided by the number of anchors (instance boundaries that contrast) instead of windows.
    Fixed shapes, no host read.
    """
    background_means, background_ok = region_means(embedded, lengths, background)
    total, anchors = embedded.sum() * 0, 0
    for regions in boundary_regions(instances):
        means, ok = region_means(embedded, lengths, regions)
        loss, count = contrastive_loss(means, instances[:, 3], background_means, background[:, 0], instances[:, 0],
                                       tau, ok, background_ok)
        total, anchors = total + loss, anchors + count
    return total / (anchors.clamp(min=1) if mean else max(embedded.shape[0], 1))
