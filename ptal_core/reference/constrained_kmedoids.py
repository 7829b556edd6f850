"""Reference constrained k-medoids (APN's pseudo labels), one video at a time, in plain PyTorch.

A video with points p_1 < … < p_n is split into clusters, in temporal order, bkg_0, act_1, bkg_1, …,
act_n, bkg_n, numbered 0 … 2n (act_i = 2i − 1, bkg_i = 2i): act_i is an interval holding p_i, the
background clusters fill the gaps and may be empty. Action clusters have one medoid each (initially their
point), the background one medoid (initially the snippet farthest in summed distance from the action
medoids). Then, until the assignment stops changing or ``max_iter`` assignments:

1. assignment: the boundaries minimising Σ_t d(x_t, medoid of t's cluster). Given the medoids, the gaps
   between consecutive points are independent: in the gap between p_j and p_{j+1}, act_j runs up to a
   boundary a, bkg_j from a to b, act_{j+1} from b (a ≤ b); ties go to the smallest (a, b);
2. update: every action cluster's medoid becomes the member of least summed distance to its members, and
   the background medoid the same over the background snippets — over the first ``background_sample``
   of them in the random order ``order`` when there are more; ties go to the lowest snippet index.

Distances (and sums of distances) are rounded to multiples of 2^-20 and compared as integers, so that the
fast backends, which sum in other orders, reach the same integer decisions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

DISTANCE_SCALE = 2.0**20
NORM_FLOOR = 1e-12
NO_MEDOID = -1


def pairwise_distances(a: torch.Tensor, b: torch.Tensor, distance: str) -> torch.Tensor:
    """(M, N) float64 distances between the rows of a (M, E) and b (N, E), float64: cosine 1 − cos (a zero
    feature is at distance 1 from everything) or euclidean."""
    if distance == "cosine":
        return 1 - F.normalize(a, dim=1, eps=NORM_FLOOR) @ F.normalize(b, dim=1, eps=NORM_FLOOR).T
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def quantize(distances: torch.Tensor) -> torch.Tensor:
    """Distances rounded (half to even) to multiples of 2^-20, as int64 counts of 2^-20."""
    return torch.round(distances * DISTANCE_SCALE).to(torch.int64)


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
    every snippet to the background medoid (column 0) and to act_1 … act_n's."""
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


def cluster_video(x: torch.Tensor, points: torch.Tensor, order: torch.Tensor, distance: str, max_iter: int,
                  background_sample: int):
    """One video: x (L, E) float64, points (n,) sorted, n >= 1. -> (clusters (L,), action medoids (n,),
    background medoid, number of assignments)."""
    length = x.shape[0]
    action = points.clone()
    background = int(torch.argmax(quantize(pairwise_distances(x, x[points], distance).sum(1))))  # first maximum
    previous = None
    for iteration in range(1, max_iter + 1):
        costs = quantize(pairwise_distances(x, x[torch.cat([torch.tensor([background]), action])], distance))
        clusters = assign(costs, points, length)
        if (previous is not None and torch.equal(clusters, previous)) or iteration == max_iter:
            return clusters, action, background, iteration
        previous = clusters
        action = torch.tensor([medoid(x, torch.nonzero(clusters == 2 * i + 1).flatten(), distance)
                               for i in range(points.numel())])
        in_video = order[order < length]
        background_snippets = in_video[clusters[in_video] % 2 == 0][:background_sample]
        if background_snippets.numel():
            background = medoid(x, torch.sort(background_snippets).values, distance)


def constrained_kmedoids(features, points, lengths, order, distance, max_iter, background_sample):
    """features (B, T, E) float; points (B, P) int64 sorted, padded with -1; lengths (B,); order (T,) a
    permutation of 0 … T − 1. -> (clusters (B, T) int64: cluster index, -1 past the length; medoids
    (B, P + 1) int64: the action medoids aligned with the points, the background medoid last, -1 where
    none; iterations (B,) int64: assignments made, 0 for a video without points)."""
    batch, max_length, _ = features.shape
    clusters = torch.full((batch, max_length), -1, dtype=torch.int64)
    medoids = torch.full((batch, points.shape[1] + 1), NO_MEDOID, dtype=torch.int64)
    iterations = torch.zeros(batch, dtype=torch.int64)
    for v in range(batch):
        length = int(lengths[v])
        video_points = points[v][points[v] >= 0].cpu()
        if video_points.numel() == 0:
            clusters[v, :length] = 0
            continue
        x = features[v, :length].double().cpu()
        video_clusters, action, background, iterations[v] = cluster_video(x, video_points, order.cpu(), distance,
                                                                          max_iter, background_sample)
        clusters[v, :length] = video_clusters
        medoids[v, :video_points.numel()] = action
        medoids[v, -1] = background
    device = features.device
    return clusters.to(device), medoids.to(device), iterations.to(device)
