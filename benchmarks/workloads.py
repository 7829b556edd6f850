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
