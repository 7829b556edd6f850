"""Reference constrained k-medoids (APN's pseudo labels), one video at a time, in plain PyTorch.

A video with points p_1 < … < p_n is split into clusters, in temporal order, bkg_0, act_1, bkg_1, …,
act_n, bkg_n, numbered 0 … 2n (act_i = 2i − 1, bkg_i = 2i): act_i is an interval holding p_i, the
background clusters fill the gaps and may be empty. Gap j holds the free snippets between p_j and p_{j+1}
(p_0 = −1, p_{n+1} = the length).

Medoids. Action cluster i has one medoid, its point p_i; it stays there (``fix_actions``) or is
re-estimated. The background medoids ("slots") serve background clusters as the slot layout says: slots
``[slot_begin[j], slot_end[j])`` serve bkg_j. Two layouts (:func:`background_slots`):

- per gap: gap j has its own ``k_j`` slots (none when it has no free snippet), initialised one after the
  other at the gap's free snippet farthest from the medoids chosen so far — its neighbouring action medoids
  (the points) included — by least distance (the largest minimum; ties to the lowest snippet; each snippet
  chosen once);
- per video: one slot serves every gap, initialised at the snippet of largest summed distance to the
  points (ties to the lowest snippet).

A free snippet's background cost is its least distance to its gap's slots, and its nearest slot the first of
those. Then, until the assignment stops changing or ``max_iter`` assignments:

1. assignment: the boundaries minimising Σ_t d(x_t, medoid of t's cluster). Given the medoids, the gaps
   between consecutive points are independent: in the gap between p_j and p_{j+1}, act_j runs up to a
   boundary a, bkg_j from a to b, act_{j+1} from b (a ≤ b); ties go to the smallest (a, b);
2. update: the action medoids (unless fixed) become the member of least summed distance to their cluster's
   members; each slot the same over the background snippets nearest to it — over the first
   ``background_sample`` of them in the random order ``order`` when there are more; ties go to the lowest
   snippet index; a slot with no such snippet stays.

Distances (and sums of distances) are rounded to multiples of 2^-20 and compared as integers, so that the
fast backends, which sum in other orders, reach the same integer decisions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


DISTANCE_SCALE = 2.0**20
NORM_FLOOR = 1e-12
NO_MEDOID = -1
BACKGROUND_LAYOUTS = ("gap", "video")


def pairwise_distances(a: torch.Tensor, b: torch.Tensor, distance: str) -> torch.Tensor:
    """(M, N) float64 distances between the rows of a (M, E) and b (N, E), float64: cosine 1 − cos (a zero
    feature is at distance 1 from everything) or euclidean."""
    if distance == "cosine":
        return 1 - F.normalize(a, dim=1, eps=NORM_FLOOR) @ F.normalize(b, dim=1, eps=NORM_FLOOR).T
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def quantize(distances: torch.Tensor) -> torch.Tensor:
    """Distances rounded (half to even) to multiples of 2^-20, as int64 counts of 2^-20."""
    return torch.round(distances * DISTANCE_SCALE).to(torch.int64)


def background_slots(points: torch.Tensor, lengths: torch.Tensor, layout: str,
                     span: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where the background medoids of a batch go: points (B, P) sorted, padded with -1; lengths (B,).

    Returns slot_begin, slot_end (B, P + 1) int64: gap j of video v is served by the slots
    ``[slot_begin[v, j], slot_end[v, j])`` of one flat array of S slots, videos in order; and slot_gap (S,)
    int64: the gap a slot belongs to (-1 for a video's single slot). Layout "gap": a gap of m >= 1 free
    snippets has ``ceil(m / span)`` slots (one when span is 0), an empty gap none; "video": each video with a
    point has one slot serving all its gaps. Gaps past a video's points, and videos without points, have none.
    """
    batch, width = points.shape
    count = (points >= 0).sum(1)
    gap = torch.arange(width + 1, device=points.device)
    before = torch.cat([torch.full((batch, 1), -1, device=points.device, dtype=torch.int64), points], 1)
    after = torch.cat([points, torch.full((batch, 1), -1, device=points.device, dtype=torch.int64)], 1)
    after = torch.where(gap[None] == count[:, None], lengths[:, None], after)
    exists = (gap[None] <= count[:, None]) & (count[:, None] > 0)
    if layout == "video":  # each video's one slot (if it has points) serves all its gaps
        video_end = torch.cumsum(count > 0, 0)[:, None].expand(batch, width + 1)
        slot_begin = torch.where(exists, video_end - 1, video_end)
        slot_gap = torch.full((int((count > 0).sum()),), -1, dtype=torch.int64, device=points.device)
        return slot_begin, video_end.clone(), slot_gap
    free = (after - before - 1).clamp(min=0)
    per_gap = torch.where(exists & (free > 0), (free + span - 1) // span if span else torch.ones_like(free), 0)
    slot_end = torch.cumsum(per_gap.flatten(), 0).view(batch, width + 1)
    slot_begin = slot_end - per_gap
    slot_gap = torch.repeat_interleave(gap.repeat(batch), per_gap.flatten())
    return slot_begin, slot_end, slot_gap


def medoid(x: torch.Tensor, members: torch.Tensor, distance: str) -> int:
    """The member (sorted snippet indices) of least summed distance to all members; the lowest on ties."""
    summed = quantize(pairwise_distances(x[members], x[members], distance).sum(1))
    return int(members[torch.argmin(summed)])  # argmin: the first of equal minima


def assign_gap(background: torch.Tensor, left: torch.Tensor | None, right: torch.Tensor | None):
    """Best boundaries (a, b) of one gap of m free snippets, given their costs (m,) int64 under bkg and
    under the action clusters on its left and right (None where there is none): snippets [0, a) go left,
    [a, b) to the background, [b, m) right, 0 <= a <= b <= m, minimising the total; ties to the smallest
    (a, b) in lexicographic order."""
    m = background.numel()

    def before(costs):  # before(c)[k] = sum of c[:k]
        return F.pad(torch.cumsum(costs, 0), (1, 0)) if costs is not None else torch.zeros(m + 1, dtype=torch.int64)

    left_sum, background_sum, right_sum = before(left), before(background), before(right)
    a, b = torch.arange(m + 1)[:, None], torch.arange(m + 1)[None, :]
    total = left_sum[a] + background_sum[b] - background_sum[a] + right_sum[m] - right_sum[b]
    admissible = (a <= b) & ((a == 0) | (left is not None)) & ((b == m) | (right is not None))
    total = torch.where(admissible, total, torch.iinfo(torch.int64).max)
    best = int(torch.argmin(total))  # the first minimum in row-major order: the smallest (a, b)
    return best // (m + 1), best % (m + 1)


def assign(costs: torch.Tensor, points: torch.Tensor, length: int) -> torch.Tensor:
    """Cluster index (length,) of every snippet, given costs (length, n + 1) int64: the rounded distance of
    every snippet to its background (column 0) and to act_1 … act_n's medoids."""
    n = points.numel()
    clusters = torch.empty(length, dtype=torch.int64)
    bounds = [-1, *points.tolist(), length]
    for j in range(n + 1):
        first, last = bounds[j] + 1, bounds[j + 1]  # the free snippets [first, last) between p_j and p_{j+1}
        if j < n:
            clusters[bounds[j + 1]] = 2 * j + 1
        if first == last:
            continue
        gap = costs[first:last]
        a, b = assign_gap(gap[:, 0], gap[:, j] if j > 0 else None, gap[:, j + 1] if j < n else None)
        clusters[first:first + a] = 2 * j - 1
        clusters[first + a:first + b] = 2 * j
        clusters[first + b:last] = 2 * j + 1
    return clusters


def farthest_first(x: torch.Tensor, candidates: torch.Tensor, anchors: torch.Tensor, count: int,
                   distance: str) -> list[int]:
    """``count`` candidates (sorted snippets) chosen one after the other, each the farthest (largest least
    rounded distance) from the anchors and the candidates chosen before it; ties to the lowest snippet."""
    nearest = quantize(pairwise_distances(x[candidates], x[anchors], distance)).amin(1)
    chosen = []
    for _ in range(count):
        pick = int(torch.argmax(nearest))  # the first of equal maxima
        chosen.append(int(candidates[pick]))
        nearest = torch.minimum(nearest, quantize(pairwise_distances(x[candidates], x[[chosen[-1]]], distance))[:, 0])
        nearest[pick] = -1  # distances are >= 0: never chosen again
    return chosen


def initial_slots(x: torch.Tensor, points: torch.Tensor, slot_begin: torch.Tensor, slot_end: torch.Tensor,
                  layout: str, distance: str) -> torch.Tensor:
    """The initial background medoids of one video, (S_v,) snippets (slots numbered from the video's first)."""
    length, n = x.shape[0], points.numel()
    if layout == "video":
        return torch.argmax(quantize(pairwise_distances(x, x[points], distance).sum(1)))[None]  # first maximum
    bounds = [-1, *points.tolist(), length]
    slots = []
    for j in range(n + 1):
        count = int(slot_end[j] - slot_begin[j])
        if count:
            neighbours = points[max(j - 1, 0):j + 1]  # p_j and p_{j+1} (0-based: points[j - 1], points[j])
            slots += farthest_first(x, torch.arange(bounds[j] + 1, bounds[j + 1]), neighbours, count, distance)
    return torch.tensor(slots, dtype=torch.int64)


def background_costs(x: torch.Tensor, points: torch.Tensor, slots: torch.Tensor, slot_begin: torch.Tensor,
                     slot_end: torch.Tensor, distance: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every snippet's least rounded distance to its gap's slots (0 where the gap has none: a point) and the
    slot (numbered from the video's first) achieving it, the first of equal minima. -> ((L,), (L,)) int64."""
    length = x.shape[0]
    gap = torch.searchsorted(points, torch.arange(length), right=True)  # the points at or before t
    first = slot_begin - slot_begin[0]
    slot = torch.arange(slots.numel())
    serves = (slot[None] >= first[gap][:, None]) & (slot[None] < (slot_end - slot_begin[0])[gap][:, None])
    costs = quantize(pairwise_distances(x, x[slots], distance)).masked_fill(~serves, torch.iinfo(torch.int64).max)
    least, nearest = (costs.min(1) if slots.numel() else (torch.zeros(length, dtype=torch.int64),) * 2)
    return torch.where(serves.any(1), least, 0), nearest


def cluster_video(x: torch.Tensor, points: torch.Tensor, slot_begin: torch.Tensor, slot_end: torch.Tensor,
                  order: torch.Tensor, layout: str, fix_actions: bool, distance: str, max_iter: int,
                  background_sample: int):
    """One video: x (L, E) float64, points (n,) sorted, n >= 1, its slot rows (n + 1,). -> (clusters (L,),
    action medoids (n,), background medoids (S_v,), number of assignments)."""
    length = x.shape[0]
    action = points.clone()
    slots = initial_slots(x, points, slot_begin, slot_end, layout, distance)
    in_video = order[order < length]
    previous = None
    for iteration in range(1, max_iter + 1):
        background, nearest = background_costs(x, points, slots, slot_begin, slot_end, distance)
        costs = torch.cat([background[:, None], quantize(pairwise_distances(x, x[action], distance))], 1)
        clusters = assign(costs, points, length)
        if (previous is not None and torch.equal(clusters, previous)) or iteration == max_iter:
            return clusters, action, slots, iteration
        previous = clusters
        if not fix_actions:
            action = torch.tensor([medoid(x, torch.nonzero(clusters == 2 * i + 1).flatten(), distance)
                                   for i in range(points.numel())])
        is_background = clusters[in_video] % 2 == 0
        for slot in range(slots.numel()):
            members = in_video[is_background & (nearest[in_video] == slot)][:background_sample]
            if members.numel():
                slots[slot] = medoid(x, torch.sort(members).values, distance)


def constrained_kmedoids(features, points, lengths, order, slot_begin, slot_end, layout, fix_actions, distance,
                         max_iter, background_sample):
    """features (B, T, E) float; points (B, P) int64 sorted, padded with -1; lengths (B,); order (T,) a
    permutation of 0 … T − 1; slot_begin, slot_end (B, P + 1) from :func:`background_slots` for ``layout``.
    -> (clusters (B, T) int64: cluster index, -1 past the length; medoids (B, P) int64: the action medoids
    aligned with the points, -1 at padding; slots (S,) int64: the background medoids; iterations (B,) int64:
    assignments made, 0 for a video without points)."""
    batch, max_length, _ = features.shape
    clusters = torch.full((batch, max_length), -1, dtype=torch.int64)
    medoids = torch.full(points.shape, NO_MEDOID, dtype=torch.int64)
    slots = torch.full((int(slot_end[:, -1].max()) if batch else 0,), NO_MEDOID, dtype=torch.int64)
    iterations = torch.zeros(batch, dtype=torch.int64)
    slot_begin, slot_end = slot_begin.cpu(), slot_end.cpu()
    for v in range(batch):
        length = int(lengths[v])
        video_points = points[v][points[v] >= 0].cpu()
        n = video_points.numel()
        if n == 0:
            clusters[v, :length] = 0
            continue
        x = features[v, :length].double().cpu()
        begin, end = slot_begin[v, :n + 1], slot_end[v, :n + 1]
        video_clusters, action, video_slots, iterations[v] = cluster_video(
            x, video_points, begin, end, order.cpu(), layout, fix_actions, distance, max_iter, background_sample)
        clusters[v, :length] = video_clusters
        medoids[v, :n] = action
        slots[int(begin[0]):int(begin[0]) + video_slots.numel()] = video_slots
    device = features.device
    return clusters.to(device), medoids.to(device), slots.to(device), iterations.to(device)
