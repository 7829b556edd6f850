"""Realistic NMS inputs: proposals clustered around action instances, as LACP/APN inference makes them."""
import torch


def proposals(num_groups: int, per_group: int, seed: int = 0, dtype=torch.float32):
    """(segments (N, 2), scores (N,), idxs (N,)) with N = num_groups * per_group, in snippet units of a
    ~1 500-snippet video: each group has ~10 instances and its proposals are jittered copies of them
    (so NMS suppresses most of them) plus 20 % background proposals."""
    gen = torch.Generator().manual_seed(seed)
    n = num_groups * per_group
    centres = torch.rand(num_groups, 10, generator=gen) * 1500
    lengths = 5 + torch.rand(num_groups, 10, generator=gen) * 60
    pick = torch.randint(0, 10, (num_groups, per_group), generator=gen)
    centre = torch.gather(centres, 1, pick)
    length = torch.gather(lengths, 1, pick) * (0.5 + torch.rand(num_groups, per_group, generator=gen))
    centre = centre + (torch.rand(num_groups, per_group, generator=gen) - 0.5) * length
    background = torch.rand(num_groups, per_group, generator=gen) < 0.2
    centre = torch.where(background, torch.rand(num_groups, per_group, generator=gen) * 1500, centre)
    start = (centre - length / 2).clamp(min=0).reshape(n)
    end = (centre + length / 2).reshape(n)
    segments = torch.stack([start, end], 1).to(dtype)
    scores = torch.rand(n, generator=gen, dtype=dtype)
    idxs = torch.arange(num_groups).repeat_interleave(per_group)
    return segments, scores, idxs


# (name, groups, segments per group): one video's proposals of one class, and the THUMOS14 test set
# (210 videos x 20 classes, grouped by video and class).
SIZES = {"one-video-2000": (1, 2000), "thumos14-test-4200x500": (4200, 500)}


def sequence_search_problem(length: int, num_points: int, seed: int = 0, dtype=torch.float32):
    """One video, one class, shaped like LACP's OSS input: a smooth CAS (sigmoid of a random walk), points
    spread over the video, each widened into a run of 1-3 action seeds, and background seeds as
    ``select_seeds`` often leaves them: one snippet in the middle of each gap between points, and blocks
    reaching the video's ends. Sparse seeds leave wide free ranges, so the beam search fills its budget.
    -> (cas (1, T, 2), act_seed (1, T, 1), bkg_seed (1, T), video_labels (1, 1))."""
    gen = torch.Generator().manual_seed(seed)
    cas = torch.sigmoid(torch.cumsum(torch.randn(1, length, 2, generator=gen) * 0.3, 1)).to(dtype)
    points = torch.linspace(0, length - 1, num_points + 2)[1:-1].round().long().tolist()
    act_seed = torch.zeros(1, length, 1)
    bkg_seed = torch.zeros(1, length)
    for p in points:
        act_seed[0, p:p + int(torch.randint(1, 4, (1,), generator=gen)), 0] = 1
    for a, b in zip(points, points[1:]):
        gap = [t for t in range(a + 1, b) if not act_seed[0, t, 0]]
        bkg_seed[0, gap[len(gap) // 2]] = 1
    bkg_seed[0, :points[0] // 3] = 1
    bkg_seed[0, length - (length - points[-1]) // 3:] = 1
    return cas, act_seed, bkg_seed, torch.ones(1, 1)


# ActivityNet 1.3 at full scale (README, "ActivityNet"): its training set, every video rescaled to 100 snippets,
# 200 classes; the methods refresh their pseudo labels over it in calls of 16 videos (pseudo.batch_videos,
# search.batch_videos).
ACTIVITYNET13_TRAIN_VIDEOS = 10_024
ACTIVITYNET_SNIPPETS = 100
ACTIVITYNET13_CLASSES = 200
REFRESH_BATCH = 16


def activitynet_instances(gen: torch.Generator, videos: int, snippets: int):
    """Where ``videos`` ActivityNet-like videos have their action instances, as the 1.3 twin draws them: 1-3
    per video (1.5 on average: 15 410 training instances over 10 024 videos), instance i in slot i of equal
    slots, covering 10-95 % of it, one point at a uniformly random snippet of each; drawn on ``gen``'s device.
    -> (points (V, 3) int64 sorted distinct snippets, -1 padded; inside (V, T) bool, the instances' snippets)."""
    device = gen.device
    draws = torch.rand(videos, 5, 3, generator=gen, device=device)
    count = 1 + (draws[:, 3, 0] < 0.4).long() + (draws[:, 3, 1] < 0.1).long()
    slot = torch.arange(4, device=device)
    begin, stop = slot[:3] * snippets // count[:, None], slot[1:] * snippets // count[:, None]
    span = stop - begin
    width = (span * (0.1 + 0.85 * draws[:, 0])).long().clamp(1)
    first = begin + torch.minimum((draws[:, 1] * (span - width + 1)).long(), span - width)
    point = first + torch.minimum((draws[:, 2] * width).long(), width - 1)
    valid = slot[:3] < count[:, None]
    time = torch.arange(snippets, device=device)
    inside = ((time >= first[..., None]) & (time < (first + width)[..., None]) & valid[..., None]).any(1)
    return torch.where(valid, point, -1), inside


def smooth_noise(gen: torch.Generator, shape: tuple[int, int, int]) -> torch.Tensor:
    """(B, T, K) unit-variance noise averaged over 5 neighbouring snippets (smooth in time, as features and
    class scores are)."""
    noise = torch.randn(shape[0], shape[2], shape[1], generator=gen, device=gen.device)
    return torch.nn.functional.avg_pool1d(noise, 5, 1, 2, count_include_pad=False).transpose(1, 2) * 5 ** 0.5


def activitynet_clustering(videos: int, dim: int, device, snippets: int = ACTIVITYNET_SNIPPETS,
                           classes: int = ACTIVITYNET13_CLASSES, seed: int = 0):
    """APN's k-medoids input over ``videos`` ActivityNet-like videos (input features, one class per video):
    a per-video mean plus smooth noise, shifted on every instance by its class's prototype. Drawn on ``device``
    in blocks of REFRESH_BATCH videos, so that the first k blocks are the same whatever ``videos``.
    -> (features (V, T, dim) float32, points (V, 3) int64 -1 padded, labels (V,) int64), on ``device``."""
    gen = torch.Generator(device).manual_seed(seed)
    prototypes = 3 * torch.randn(classes, dim, generator=gen, device=device)
    features = torch.empty(videos, snippets, dim, device=device)
    points = torch.empty(videos, 3, dtype=torch.int64, device=device)
    labels = torch.empty(videos, dtype=torch.int64, device=device)
    for first in range(0, videos, REFRESH_BATCH):
        block = slice(first, min(first + REFRESH_BATCH, videos))
        count = block.stop - first
        points[block], inside = activitynet_instances(gen, count, snippets)
        labels[block] = torch.randint(classes, (count,), generator=gen, device=device)
        mean = 2 * torch.randn(count, 1, dim, generator=gen, device=device)
        features[block] = mean + smooth_noise(gen, (count, snippets, dim)) + inside[..., None] * \
            prototypes[labels[block]][:, None]
    return features, points, labels


def activitynet_search(videos: int, device, snippets: int = ACTIVITYNET_SNIPPETS,
                       classes: int = ACTIVITYNET13_CLASSES, seed: int = 0):
    """LACP's search input over ``videos`` ActivityNet-like videos, as its network gives it: a smooth CAS whose
    video class is high and background low on the instances (the reverse elsewhere), the points as (T, C)
    labels, one class per video. Drawn on ``device`` in blocks of REFRESH_BATCH videos (the first k blocks are
    the same whatever ``videos``).
    -> (cas (V, T, C + 1) float32, points (V, T, C) float32 0/1, video_labels (V, C) float32 0/1), on ``device``."""
    gen = torch.Generator(device).manual_seed(seed)
    cas = torch.empty(videos, snippets, classes + 1, device=device)
    points = torch.zeros(videos, snippets, classes, device=device)
    video_labels = torch.zeros(videos, classes, device=device)
    for first in range(0, videos, REFRESH_BATCH):
        count = min(REFRESH_BATCH, videos - first)
        video = torch.arange(first, first + count, device=device)
        snippets_of_points, inside = activitynet_instances(gen, count, snippets)
        label = torch.randint(classes, (count,), generator=gen, device=device)
        logits = 2 * smooth_noise(gen, (count, snippets, classes + 1))
        signal = 4 * (2 * inside.float() - 1)  # +4 on the instances, -4 elsewhere
        logits[torch.arange(count, device=device), :, label] += signal
        logits[..., classes] -= signal
        cas[first:first + count] = torch.sigmoid(logits)
        valid = snippets_of_points >= 0
        rows = video[:, None].expand_as(snippets_of_points)[valid]
        points[rows, snippets_of_points[valid], label[:, None].expand_as(snippets_of_points)[valid]] = 1
        video_labels[video, label] = 1
    return cas, points, video_labels
