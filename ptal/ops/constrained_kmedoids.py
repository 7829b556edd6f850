from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends
from ptal_core.native import constrained_kmedoids as native
from ptal_core.reference import constrained_kmedoids as reference

BACKENDS = Backends("constrained_kmedoids", reference=reference.constrained_kmedoids,
                    cpu=native.constrained_kmedoids_cpu, cuda=native.constrained_kmedoids_cuda)

DISTANCES = ("cosine", "euclidean")
ACTION_MEDOIDS = ("points", "update")
BACKGROUND_LAYOUTS = reference.BACKGROUND_LAYOUTS


class KMedoidsResult(NamedTuple):
    """The output of :func:`constrained_kmedoids` for a batch of B videos padded to T snippets, with P point
    columns.

    labels: (B, T) int64, the class of every snippet's action cluster, -1 for background (and past each
        video's length).
    instances: (K, 4) int64 [video, start, end, class], one action cluster per point (ends inclusive), by
        video then time.
    background: (Q, 3) int64 [video, start, end], the non-empty background clusters, by video then time.
    medoids: (B, P) int64 snippet indices: column i is the medoid of point i's cluster (-1 for padding).
    background_medoids: (S, 3) int64 [video, gap, snippet]: the background medoids, by video, gap, then the
        order they were placed in; gap j lies between the video's points j - 1 and j (0-based; gap 0 before
        the first point); gap -1 for the one medoid of ``background="video"``.
    iterations: (B,) int64, the assignments made (at most ``max_iter``; 0 for a video without points).
    """

    labels: torch.Tensor
    instances: torch.Tensor
    background: torch.Tensor
    medoids: torch.Tensor
    background_medoids: torch.Tensor
    iterations: torch.Tensor


@_arrays.interop
def constrained_kmedoids(features: torch.Tensor, points: torch.Tensor, point_classes: torch.Tensor,
                         lengths: torch.Tensor | None = None, *, distance: str = "cosine", max_iter: int = 10,
                         background: str = "gap", background_span: int = 0, action_medoids: str = "points",
                         background_sample: int = 512, seed: int = 0, backend: str | None = None) -> KMedoidsResult:
    """APN's constrained k-medoids: dense pseudo labels from point labels by clustering snippet features.

    A video with points p_1 < … < p_n is split, in temporal order, into the clusters bkg_0, act_1, bkg_1, …,
    act_n, bkg_n: act_i is an interval holding p_i (labelled with p_i's class), the background clusters
    fill what is left and may be empty. Gap j is what lies strictly between p_j and p_{j+1} (before p_1 for
    j = 0, after p_n for j = n); act_j, bkg_j and act_{j+1} share it, in this order.

    Medoids. Each action cluster has a medoid, its point ("regard point-level annotations as cluster
    medoids", APN); with ``action_medoids="update"`` it is re-estimated like any medoid. The background
    medoids, with ``background="gap"`` (default), belong to one gap each: a gap of m free snippets has one
    (``background_span=0``) or ``ceil(m / background_span)``, placed one after the other at the gap's snippet
    farthest from the medoids placed so far, its neighbouring points included (the largest least distance);
    a snippet of bkg_j is scored by its nearest medoid of gap j. With ``background="video"`` one medoid per
    video, first at the snippet of largest summed distance to the points, serves every gap.

    The op then alternates, until the assignment stops changing or after ``max_iter`` assignments:

    1. assignment: the boundaries minimising Σ_t d(x_t, medoid of t's cluster), exactly (a dynamic
       programme over snippets and clusters);
    2. update: each medoid that moves becomes the member of least summed distance to its members: an
       action cluster's snippets, or the background snippets nearest to a background medoid — over a random
       subset of ``background_sample`` of them when there are more (seeded by ``seed``: the subset is the
       first such snippets in one random order of the positions 0 … T − 1, drawn by
       ``torch.Generator().manual_seed(seed)``). A background medoid with no snippet stays.

    The returned medoids are those of the returned assignment, which is optimal for them.

    Exactness and ties: distances are computed in float64 and rounded to multiples of 2^-20 (≈ 1e-6); the
    assignment's total, least distances and the medoids' summed distances are compared as integers of that
    unit, so every backend makes the same decisions. Among equally good assignments the one advancing
    earliest wins (every boundary as early as possible, in temporal order: action clusters start early and
    end early); among equally good medoids (and initial background medoids) the lowest snippet index; among
    equally near background medoids the first placed. Cosine distance is 1 − cos; a zero feature is at
    distance 1 from every feature, itself included.

    Args:
        features: (B, T, E) float32/float64 snippet features, finite within each video's length.
        points: (B, P) integer snippet indices of the points of each video, sorted, distinct, within its
            length, padded at the end with -1. A video without points is one background cluster.
        point_classes: (B, P) integer class of every point (>= 0; ignored at padding).
        lengths: (B,) int lengths (default T).
        distance: "cosine" or "euclidean".
        max_iter: the most assignments (>= 1); 1 returns the assignment to the initial medoids.
        background: "gap" (a background medoid per gap, default) or "video" (one per video).
        background_span: with ``background="gap"``: 0 for one medoid per gap, or k >= 1 for one per k free
            snippets of the gap (rounded up).
        action_medoids: "points" (the action medoids stay at the points, default) or "update".
        background_sample: the most background snippets a background medoid is chosen from (>= 1).
        seed: the seed of the background subset's random order.

    Returns:
        :class:`KMedoidsResult` (labels, instances, background, medoids, background_medoids, iterations), on
        the inputs' device.
    """
    features = _checks.tensor("features", features, ndim=3, dtypes=_checks.FLOAT_DTYPES)
    batch, max_length, _ = features.shape
    points = _checks.tensor("points", points, ndim=2, dtypes=_checks.INTEGER_DTYPES)
    point_classes = _checks.tensor("point_classes", point_classes, ndim=2, dtypes=_checks.INTEGER_DTYPES)
    if points.shape[0] != batch:
        raise ValueError(f"points must have shape ({batch}, P) to match features, got {tuple(points.shape)}")
    if point_classes.shape != points.shape:
        raise ValueError(f"point_classes must have the shape of points {tuple(points.shape)}, "
                         f"got {tuple(point_classes.shape)}")
    device = _checks.same_device(features=features, points=points, point_classes=point_classes)
    lengths = _checks.lengths_argument("lengths", lengths, batch, device)
    distance = _checks.choice("distance", distance, DISTANCES)
    max_iter = _checks.integer("max_iter", max_iter, low=1)
    background = _checks.choice("background", background, BACKGROUND_LAYOUTS)
    background_span = _checks.integer("background_span", background_span, low=0)
    if background == "video" and background_span:
        raise ValueError(f"background_span applies to background='gap' only (one medoid per gap every "
                         f"background_span snippets); with background='video' it must be 0, got {background_span}")
    action_medoids = _checks.choice("action_medoids", action_medoids, ACTION_MEDOIDS)
    background_sample = _checks.integer("background_sample", background_sample, low=1)
    seed = _checks.integer("seed", seed)
    return KMedoidsResult(*_constrained_kmedoids(features, points, point_classes, lengths, distance, max_iter,
                                                 background, background_span, action_medoids, background_sample,
                                                 seed, BACKENDS.choose(device, backend), True))


def constrained_kmedoids_unchecked(features: torch.Tensor, points: torch.Tensor, point_classes: torch.Tensor,
                                   lengths: torch.Tensor | None = None, *, distance: str = "cosine",
                                   max_iter: int = 10, background: str = "gap", background_span: int = 0,
                                   action_medoids: str = "points", background_sample: int = 512, seed: int = 0,
                                   backend: str | None = None) -> KMedoidsResult:
    """:func:`constrained_kmedoids` without validation, for inputs that the caller built valid (ptal's models)."""
    return KMedoidsResult(*_constrained_kmedoids(features, points, point_classes, lengths, distance, max_iter,
                                                 background, background_span, action_medoids, background_sample,
                                                 seed, BACKENDS.choose(features.device, backend), False))


@registered
def _constrained_kmedoids(features: torch.Tensor, points: torch.Tensor, point_classes: torch.Tensor,
                          lengths: torch.Tensor | None, distance: str, max_iter: int, background: str,
                          background_span: int, action_medoids: str, background_sample: int, seed: int, backend: str,
                          check: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                                torch.Tensor]:
    """-> labels, instances, background, medoids, background_medoids, iterations (see KMedoidsResult)."""
    batch, max_length, _ = features.shape
    device = features.device
    lengths = _checks.lengths_or_full(lengths, batch, max_length, device)
    points = points.to(torch.int64)
    point_classes = point_classes.to(torch.int64)
    if check:
        _checks.length_values("lengths", lengths, max_length)
        _checks.finite_within_lengths("features", features, lengths)
        _check_points(points, point_classes, lengths)
    order = torch.argsort(torch.rand(max_length, generator=torch.Generator().manual_seed(seed), dtype=torch.float64),
                          stable=True).to(device)
    slot_begin, slot_end, slot_gap = reference.background_slots(points, lengths, background, background_span)
    implementation = BACKENDS.implementation(backend, device)
    clusters, medoids, slots, iterations = implementation(features, points, lengths, order, slot_begin, slot_end,
                                                          background, action_medoids == "points", distance, max_iter,
                                                          background_sample)
    slot_video = torch.repeat_interleave(torch.arange(batch, device=device), slot_end[:, -1] - slot_begin[:, 0])
    return _result(clusters, medoids, torch.stack([slot_video, slot_gap, slots], 1), iterations, point_classes)


@torch.library.register_fake(_constrained_kmedoids)
def _(features, points, point_classes, lengths, distance, max_iter, background, background_span, action_medoids,
      background_sample, seed, backend, check):
    batch, max_length, _ = features.shape
    context = torch.library.get_ctx()
    instances, runs, slots = context.new_dynamic_size(), context.new_dynamic_size(), context.new_dynamic_size()
    new = points.new_empty
    return (new((batch, max_length)), new((instances, 4)), new((runs, 3)), new((batch, points.shape[1])),
            new((slots, 3)), new(batch))


def _check_points(points: torch.Tensor, point_classes: torch.Tensor, lengths: torch.Tensor) -> None:
    """Raise unless every row of points is sorted distinct snippet indices within its video, then -1s, and
    every point's class is >= 0."""
    valid = points >= 0

    def fail(message: str, where: torch.Tensor) -> None:
        video, column = torch.nonzero(where)[0].tolist()
        raise ValueError(f"points: video {video}, column {column}: {message} (got {int(points[video, column])})")

    if bool((points < -1).any()):
        fail("entries must be snippet indices or -1 (padding)", points < -1)
    if points.shape[1] > 1:
        after_padding = ~valid[:, :-1] & valid[:, 1:]
        if bool(after_padding.any()):
            fail("the -1 padding must come after every point", _from_second_column(after_padding))
        not_increasing = valid[:, 1:] & (points[:, 1:] <= points[:, :-1])
        if bool(not_increasing.any()):
            fail("points must be sorted and distinct", _from_second_column(not_increasing))
    beyond = valid & (points >= lengths[:, None])
    if bool(beyond.any()):
        fail("points must be within the video's length", beyond)
    negative = valid & (point_classes < 0)
    if bool(negative.any()):
        video, column = torch.nonzero(negative)[0].tolist()
        raise ValueError(f"point_classes: video {video}, column {column}: classes must be >= 0, "
                         f"got {int(point_classes[video, column])}")


def _from_second_column(mask: torch.Tensor) -> torch.Tensor:
    """A (B, P - 1) mask about columns 1 … P - 1 as a (B, P) one."""
    return F.pad(mask, (1, 0))


def _result(clusters: torch.Tensor, medoids: torch.Tensor, background_medoids: torch.Tensor, iterations: torch.Tensor,
            point_classes: torch.Tensor):
    """The labels and the clusters' runs from every snippet's cluster index (B, T) (act_i = 2i − 1, the
    cluster of point i − 1; bkg_i = 2i; -1 past the length). Every non-empty cluster is one run."""
    batch, num_points = point_classes.shape
    class_of_cluster = torch.full((batch, 2 * num_points + 2), -1, dtype=torch.int64, device=clusters.device)
    class_of_cluster[:, 2::2] = point_classes  # column c + 1 for cluster c
    labels = torch.gather(class_of_cluster, 1, clusters + 1)
    inside = clusters >= 0
    video, start = torch.nonzero(inside & (clusters != F.pad(clusters, (1, 0), value=-1)[:, :-1]), as_tuple=True)
    end = torch.nonzero(inside & (clusters != F.pad(clusters, (0, 1), value=-1)[:, 1:]))[:, 1]
    is_action = clusters[video, start] % 2 == 1
    runs = torch.stack([video, start, end], 1)
    instances = torch.cat([runs, labels[video, start][:, None]], 1)[is_action]
    return labels, instances, runs[~is_action], medoids, background_medoids, iterations
