import itertools
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from ptal.ops import KMedoidsResult, constrained_kmedoids
from tests.ops.backends import device_of, fast_backends, op_backend
from tests.ops.sequences import action_features

BACKENDS = fast_backends("constrained_kmedoids")


def run(backend, features, points, point_classes, lengths=None, **kwargs) -> KMedoidsResult:
    device = device_of(backend) if backend != "reference" else torch.device("cpu")
    result = constrained_kmedoids(features.to(device), points.to(device), point_classes.to(device),
                                  None if lengths is None else lengths.to(device), backend=op_backend(backend),
                                  **kwargs)
    return KMedoidsResult(*(field.cpu() for field in result))


def assert_same(got: KMedoidsResult, expected: KMedoidsResult):
    for name, a, b in zip(KMedoidsResult._fields, got, expected):
        assert a.dtype == torch.int64 and torch.equal(a, b), name


def cluster_indices(result: KMedoidsResult, video: int, length: int) -> list[int]:
    """Every snippet's cluster index (act_i = 2i - 1, bkg_i = 2i) from the instances of one video."""
    instances = result.instances[result.instances[:, 0] == video].tolist()
    clusters, done = [], 0
    for t in range(length):
        inside = [i for i, (_, start, end, _) in enumerate(instances) if start <= t <= end]
        done = sum(1 for _, _, end, _ in instances if end < t)
        clusters.append(2 * inside[0] + 1 if inside else 2 * done)
    return clusters


# ---- the assignment against a brute force over all admissible boundaries ----

def distance_by_definition(a: list[float], b: list[float], distance: str) -> int:
    """The distance rounded to multiples of 2^-20, as the op documents it."""
    if distance == "euclidean":
        value = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    else:
        norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        value = 1 - sum(x * y for x, y in zip(a, b)) / norms
    return round(value * 2**20)


def brute_force_assignment(features, points, action_medoids, background_medoids, distance):
    """The cluster indices of the optimal assignment over every admissible set of boundaries, ties to the
    lexicographically smallest boundaries: per gap j between p_j and p_{j+1}, act_j ends before a, bkg_j
    covers [a, b), act_{j+1} starts at b. background_medoids: [gap, snippet] rows; a snippet of gap j costs
    its least distance to the rows of gap j (of gap -1: every gap's)."""
    length, n = len(features), len(points)
    bounds = [-1, *points, length]

    def background_cost(t, j):
        return min(distance_by_definition(features[t], features[m], distance)
                   for gap, m in background_medoids if gap in (j, -1))

    gaps = []
    for j in range(n + 1):
        first, last = bounds[j] + 1, bounds[j + 1]
        gaps.append([(a, b) for a in range(first, last + 1) for b in range(a, last + 1)
                     if (j > 0 or a == first) and (j < n or b == last)])
    best = None
    for choice in itertools.product(*gaps):
        clusters = [0] * length
        for i, p in enumerate(points):
            clusters[p] = 2 * i + 1
        for j, (a, b) in enumerate(choice):
            for t in range(bounds[j] + 1, bounds[j + 1]):
                clusters[t] = 2 * j - 1 if t < a else 2 * j if t < b else 2 * j + 1
        total = sum(background_cost(t, c // 2) if c % 2 == 0
                    else distance_by_definition(features[t], features[action_medoids[(c - 1) // 2]], distance)
                    for t, c in enumerate(clusters))
        key = (total, [boundary for pair in choice for boundary in pair])
        if best is None or key < best[0]:
            best = key, clusters
    return best[1]


def placed_by_definition(features, points, span, distance):
    """The initial per-gap background medoids, [gap, snippet] rows: in each gap of m free snippets,
    ceil(m / span) of them (1 when span is 0), each the free snippet of the largest least distance to the
    neighbouring points and the medoids placed before it, ties to the lowest snippet, none twice."""
    bounds, rows = [-1, *points, len(features)], []
    for j in range(len(points) + 1):
        free = list(range(bounds[j] + 1, bounds[j + 1]))
        anchors = [p for p in (bounds[j], bounds[j + 1]) if 0 <= p < len(features) and p in points]
        for _ in range(math.ceil(len(free) / span) if span else min(1, len(free))):
            def least(t):
                return min(distance_by_definition(features[t], features[a], distance) for a in anchors)
            best = max(free, key=lambda t: (least(t), -t))
            rows.append([j, best])
            anchors.append(best)
            free.remove(best)
    return rows


@st.composite
def small_video(draw):
    """One video of T <= 12 snippets and 1-3 points; features random, or small integers (many exact ties),
    with some duplicated rows."""
    length = draw(st.integers(1, 12))
    dim = draw(st.integers(2, 5))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    if draw(st.booleans()):
        features = torch.randn(length, dim, generator=gen, dtype=torch.float64)
    else:
        features = torch.randint(-2, 3, (length, dim), generator=gen).double()
        features[:, 0] = features[:, 0].abs() + 1  # no zero feature
    for source, target in draw(st.lists(st.tuples(st.integers(0, length - 1), st.integers(0, length - 1)),
                                        max_size=3)):
        features[target] = features[source]
    points = sorted(draw(st.sets(st.integers(0, length - 1), min_size=1, max_size=3)))
    return features, points, draw(st.sampled_from(["cosine", "euclidean"]))


LAYOUTS = [dict(background="gap"), dict(background="gap", background_span=2), dict(background="video")]


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
@pytest.mark.parametrize("layout", LAYOUTS, ids=["gap", "gap-span2", "video"])
@settings(max_examples=60, deadline=None)
@given(case=small_video())
def test_assignment_equals_brute_force(backend, layout, case):
    features, points, distance = case
    length = features.shape[0]
    result = run(backend, features[None], torch.tensor([points]), torch.zeros(1, len(points), dtype=torch.int64),
                 distance=distance, max_iter=1, **layout)
    assert result.medoids[0].tolist() == points  # the action medoids start at the points
    background_medoids = result.background_medoids[:, 1:].tolist()
    if layout["background"] == "gap":
        assert background_medoids == placed_by_definition(features.tolist(), points, layout.get("background_span", 0),
                                                          distance)
    expected = brute_force_assignment(features.tolist(), points, points, background_medoids, distance)
    assert cluster_indices(result, 0, length) == expected


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_initial_background_medoid_is_the_farthest_from_the_points(backend):
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [-1.0, 0.0], [-1.0, 0.0], [0.9, 0.0]])
    result = run(backend, features[None], torch.tensor([[0, 5]]), torch.tensor([[3, 4]]), max_iter=1,
                 background="video")
    assert result.medoids.tolist() == [[0, 5]]
    assert result.background_medoids.tolist() == [[0, -1, 3]]  # 3 and 4 are equally far: the lowest index


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_gap_medoids_are_placed_farthest_first(backend):
    # One gap between points 0 and 9 (snippets 1 … 8): the farthest from (1, 0) and (0, 1) is (-1, -1) at 4;
    # then, also away from it, (1, -1) at 7 (least distance 1 - cos 45° to the points, 1 to snippet 4).
    rows = [(1, 0), (1, 0.1), (0.2, 1), (0, 1), (-1, -1), (-1, -0.9), (1, 0.2), (1, -1), (0.9, 0), (0, 1)]
    features = torch.tensor([rows], dtype=torch.float64)
    result = run(backend, features, torch.tensor([[0, 9]]), torch.tensor([[1, 2]]), max_iter=1, background_span=4)
    assert result.background_medoids.tolist() == [[0, 1, 4], [0, 1, 7]]  # ceil(8 / 4) = 2 medoids in gap 1


# ---- documented tie rules ----

@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
@pytest.mark.parametrize("layout", ["gap", "video"])
@pytest.mark.parametrize("action_medoids", ["points", "update"])
def test_identical_features_tie_to_the_earliest_boundaries(backend, layout, action_medoids):
    # Every distance is 0, so every assignment ties: each action cluster starts right after the previous
    # point and ends at its own point; every medoid that moves goes to its cluster's first snippet.
    features = torch.ones(1, 10, 3)
    result = run(backend, features, torch.tensor([[2, 5, 6]]), torch.tensor([[7, 8, 9]]), background=layout,
                 action_medoids=action_medoids)
    assert result.instances.tolist() == [[0, 0, 2, 7], [0, 3, 5, 8], [0, 6, 6, 9]]
    assert result.background.tolist() == [[0, 7, 9]]
    assert result.labels.tolist() == [[7, 7, 7, 8, 8, 8, 9, -1, -1, -1]]
    assert result.medoids.tolist() == ([[2, 5, 6]] if action_medoids == "points" else [[0, 3, 6]])
    # Per gap: gaps 0, 1, 3 start at their first free snippet; only bkg_3 has members (its first is 7).
    # Per video: the first background snippet after the update.
    assert result.background_medoids.tolist() == ([[0, 0, 0], [0, 1, 3], [0, 3, 7]] if layout == "gap"
                                                  else [[0, -1, 7]])
    assert result.iterations.tolist() == [2]


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
@pytest.mark.parametrize("layout", ["gap", "video"])
def test_hand_checked_two_actions(backend, layout):
    # Background (0, 1) around two actions (1, 0) and (-1, 0) of different classes, one background snippet
    # (6) between them.
    rows = [(0, 1)] * 2 + [(1, 0)] * 4 + [(0, 1)] + [(-1, 0)] * 3 + [(0, 1)] * 3
    features = torch.tensor([rows], dtype=torch.float32) + 0.01 * torch.arange(13.0)[None, :, None]
    result = run(backend, features, torch.tensor([[3, 8, -1]]), torch.tensor([[4, 11, 0]]), background=layout)
    assert result.instances.tolist() == [[0, 2, 5, 4], [0, 7, 9, 11]]
    assert result.background.tolist() == [[0, 0, 1], [0, 6, 6], [0, 10, 12]]
    assert result.labels[0].tolist() == [-1, -1, 4, 4, 4, 4, -1, 11, 11, 11, -1, -1, -1]
    assert result.medoids.tolist() == [[3, 8, -1]]
    medoids = result.background_medoids.tolist()
    if layout == "gap":  # gaps 0 (snippets 0-2), 1 (4-7), 2 (9-12): each medoid in its gap's background
        assert [gap for _, gap, _ in medoids] == [0, 1, 2]
        assert medoids[0][2] in (0, 1) and medoids[1][2] == 6 and medoids[2][2] in (10, 11, 12)
    else:
        assert len(medoids) == 1 and medoids[0][2] in (0, 1, 6, 10, 11, 12)


def test_several_background_scenes_stay_background_per_gap():
    # Two background scenes A and B around one action: per video, the medoid sits in one scene and the
    # other scene's snippets (nearer the action than scene A) join the action; per gap, each scene has its
    # own medoid and the action keeps its own snippets only.
    scene_a, scene_b, action = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.7, 0.7)
    rows = [scene_a] * 6 + [action] * 3 + [scene_b] * 6
    features = torch.tensor([rows])
    per_gap = constrained_kmedoids(features, torch.tensor([[7]]), torch.tensor([[0]]), background="gap")
    per_video = constrained_kmedoids(features, torch.tensor([[7]]), torch.tensor([[0]]), background="video")
    assert per_gap.instances.tolist() == [[0, 6, 8, 0]]
    assert per_video.instances[0, 2] > 8


# ---- the whole iteration against the reference ----

def kmedoids_batch(gen: torch.Generator, lengths: list[int], patterns: list[str], dim: int, dtype,
                   duplicates: bool):
    """Smooth random features (some rows duplicated, some zero), points following `patterns`."""
    batch, max_length = len(lengths), max(lengths, default=0)
    features = torch.cumsum(torch.randn(batch, max_length, dim, generator=gen, dtype=torch.float64), 1)
    features += 3 * torch.randn(batch, 1, dim, generator=gen, dtype=torch.float64)
    rows = []
    for video, (length, pattern) in enumerate(zip(lengths, patterns)):
        if duplicates and length > 1:
            source = torch.randint(0, length, (length // 3,), generator=gen)
            target = torch.randint(0, length, (length // 3,), generator=gen)
            features[video, target] = features[video, source]
            features[video, int(torch.randint(0, length, (1,), generator=gen))] = 0
        if length == 0 or pattern == "none":
            chosen = []
        elif pattern == "ends":
            chosen = [0, length - 1]
        elif pattern == "one":
            chosen = [int(torch.randint(0, length, (1,), generator=gen))]
        elif pattern == "adjacent":
            start = int(torch.randint(0, length, (1,), generator=gen))
            chosen = list(range(start, min(length, start + 3)))
        elif pattern == "dense":
            chosen = torch.randperm(length, generator=gen)[:max(1, length // 2)].tolist()
        else:
            chosen = torch.randperm(length, generator=gen)[:max(1, length // 15)].tolist()
        rows.append(sorted(set(chosen)))
    width = max((len(r) for r in rows), default=0) + 1
    points = torch.full((batch, width), -1, dtype=torch.int64)
    classes = torch.randint(0, 20, (batch, width), generator=gen)
    for video, row in enumerate(rows):
        points[video, :len(row)] = torch.tensor(row, dtype=torch.int64)
    return features.to(dtype), points, classes, torch.tensor(lengths, dtype=torch.int64)


PATTERNS = ("random", "ends", "one", "adjacent", "dense", "none")


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), max_length=st.sampled_from([1, 2, 7, 30, 90]),
       patterns=st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=4),
       dtype=st.sampled_from([torch.float32, torch.float64]), distance=st.sampled_from(["cosine", "euclidean"]),
       max_iter=st.sampled_from([1, 2, 10]), background_sample=st.sampled_from([1, 4, 512]),
       duplicates=st.booleans(), layout=st.sampled_from(LAYOUTS + [dict(background="gap", background_span=9)]),
       action_medoids=st.sampled_from(["points", "update"]))
def test_backend_equals_reference(backend, seed, max_length, patterns, dtype, distance, max_iter, background_sample,
                                  duplicates, layout, action_medoids):
    gen = torch.Generator().manual_seed(seed)
    lengths = [max_length, *torch.randint(0, max_length + 1, (len(patterns) - 1,), generator=gen).tolist()]
    batch = kmedoids_batch(gen, lengths, patterns, dim=int(torch.randint(1, 20, (1,), generator=gen)), dtype=dtype,
                           duplicates=duplicates)
    kwargs = dict(distance=distance, max_iter=max_iter, background_sample=background_sample, seed=seed,
                  action_medoids=action_medoids, **layout)
    assert_same(run(backend, *batch, **kwargs), run("reference", *batch, **kwargs))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
@pytest.mark.parametrize("layout", [dict(background="gap", background_span=200), dict(background="video")],
                         ids=["gap", "video"])
def test_long_videos_with_the_background_subsample(backend, distance, layout):
    gen = torch.Generator().manual_seed(7)
    lengths, points = [2000, 1300], [[0, 300, 301, 900, 1500, 1999], [650]]
    features = action_features(gen, lengths, points, dim=64)
    padded = torch.tensor([points[0], [650, -1, -1, -1, -1, -1]])
    batch = (features, padded, torch.randint(0, 20, padded.shape, generator=gen), torch.tensor(lengths))
    kwargs = dict(distance=distance, max_iter=4, action_medoids="update", background_sample=128, **layout)
    got = run(backend, *batch, **kwargs)
    assert_same(got, run("reference", *batch, **kwargs))
    assert (got.iterations > 1).all() and ((got.labels == -1).sum(1) > 512).all()


# ---- output structure ----

@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
def test_videos_without_points_and_padding(backend):
    features = torch.randn(3, 6, 4)
    points = torch.tensor([[-1, -1], [1, 3], [-1, -1]])
    result = run(backend, features, points, torch.tensor([[0, 0], [2, 1], [0, 0]]), torch.tensor([6, 4, 0]))
    assert result.labels[0].tolist() == [-1] * 6 and result.labels[2].tolist() == [-1] * 6
    assert (result.labels[1, 4:] == -1).all() and set(result.labels[1, :4].tolist()) <= {-1, 1, 2}
    assert result.instances[:, 0].tolist() == [1, 1] and result.instances[:, 3].tolist() == [2, 1]
    assert result.background[0].tolist() == [0, 0, 5]
    assert (result.background[:, 0] != 2).all()
    assert result.medoids[0].tolist() == [-1, -1] and result.medoids[2].tolist() == [-1, -1]
    assert result.medoids[1].tolist() == [1, 3]
    assert result.background_medoids[:, :2].tolist() == [[1, 0], [1, 1]]  # snippets 0 and 2; gap 2 is empty
    assert result.iterations[0] == 0 and result.iterations[2] == 0 and result.iterations[1] >= 1


@pytest.mark.parametrize("backend", ["reference", *BACKENDS])
@pytest.mark.parametrize("shape", [(0, 5, 3, 2), (2, 0, 3, 0), (2, 5, 3, 0)])
def test_empty_batches(backend, shape):
    batch, length, dim, num_points = shape
    result = run(backend, torch.randn(batch, length, dim), torch.full((batch, num_points), -1),
                 torch.zeros(batch, num_points, dtype=torch.int64))
    assert result.labels.shape == (batch, length) and (result.labels == -1).all()
    assert result.instances.shape == (0, 4) and result.medoids.shape == (batch, num_points)
    assert result.background_medoids.shape == (0, 3)
    assert result.background.shape == ((batch if length else 0), 3)


# ---- validation ----

@pytest.mark.parametrize("change, error, match", [
    (dict(points=torch.tensor([[4, 2, -1]])), ValueError, "points: video 0, column 1: points must be sorted"),
    (dict(points=torch.tensor([[2, 2, -1]])), ValueError, "sorted and distinct"),
    (dict(points=torch.tensor([[2, -1, 4]])), ValueError, "padding must come after every point"),
    (dict(points=torch.tensor([[2, 6, -1]])), ValueError, "within the video's length"),
    (dict(points=torch.tensor([[2, 4, 5]]), lengths=torch.tensor([5])), ValueError, "column 2: .*within the video's"),
    (dict(points=torch.tensor([[-2, 2, 4]])), ValueError, "snippet indices or -1"),
    (dict(points=torch.tensor([[1.0, 2.0, -1.0]])), TypeError, "points must have dtype"),
    (dict(point_classes=torch.tensor([[0, 1]])), ValueError, "point_classes must have the shape of points"),
    (dict(point_classes=torch.tensor([[0, -3, 0]])), ValueError, "point_classes: .*must be >= 0"),
    (dict(features=torch.full((1, 6, 3), float("nan"))), ValueError, "features must be finite"),
    (dict(features=torch.rand(1, 6, 3).half()), TypeError, "features must have dtype"),
    (dict(features=torch.rand(2, 6, 3)), ValueError, r"points must have shape \(2, P\)"),
    (dict(distance="manhattan"), ValueError, "distance must be one of"),
    (dict(max_iter=0), ValueError, "max_iter must be >= 1"),
    (dict(max_iter=2.5), TypeError, "max_iter must be an int"),
    (dict(background_sample=0), ValueError, "background_sample must be >= 1"),
    (dict(background="scene"), ValueError, "background must be one of"),
    (dict(background_span=-1), ValueError, "background_span must be >= 0"),
    (dict(background_span=1.5), TypeError, "background_span must be an int"),
    (dict(background="video", background_span=8), ValueError, "background_span applies to background='gap' only"),
    (dict(action_medoids="fixed"), ValueError, "action_medoids must be one of"),
    (dict(lengths=torch.tensor([7])), ValueError, r"lengths must be in \[0, 6\]"),
])
def test_bad_input(change, error, match):
    args = dict(features=torch.rand(1, 6, 3), points=torch.tensor([[2, 4, -1]]),
                point_classes=torch.tensor([[0, 1, 0]]))
    args.update(change)
    with pytest.raises(error, match=match):
        constrained_kmedoids(**args)


def test_padding_features_are_not_read():
    features = torch.rand(1, 6, 3)
    features[0, 4:] = float("nan")
    result = constrained_kmedoids(features, torch.tensor([[1]]), torch.tensor([[0]]), torch.tensor([4]))
    assert result.labels[0, 4:].tolist() == [-1, -1]
