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
