"""A faithful per-video re-implementation of the LACP release's loss (its train.py), written from the
algorithm: one video at a time, plain loops, the release's quirks. The oracle of ptal's official mode."""
import torch
import torch.nn.functional as F

from ptal.ops import select_seeds


def oic(values: torch.Tensor, start: int, end: int, ratio: float = 0.25) -> torch.Tensor:
    """inner mean - outer mean of [start, end], margins int(start - r*len) .. int(end + r*len)."""
    length = end - start + 1
    outer_start = max(0, int(start - ratio * length))
    outer_end = min(values.shape[0] - 1, int(end + ratio * length))
    outer = list(range(outer_start, start)) + list(range(end + 1, outer_end + 1))
    inner = values[start:end + 1].mean()
    return inner - (values[outer].mean() if outer else 0)


def runs_of(flags: list[int]) -> list[tuple[int, int]]:
    found, start = [], None
    for t, flag in enumerate(flags + [0]):
        if flag and start is None:
            start = t
        if not flag and start is not None:
            found.append((start, t - 1))
            start = None
    return found


def sampled_feature(features: torch.Tensor, start: int, end: int, draws: torch.Tensor) -> torch.Tensor:
    """Mean of one feature drawn in each third of [start, end] (the release's feature_sampling, its
    np.random.randint(low, high) replaced by low + floor(u * (high - low)) with the given draws)."""
    step = (end + 1 - start) / 3
    picked = []
    for i in range(3):
        low, high = int(start + step * i), int(start + step * (i + 1))
        if low >= high:
            high += 1
        picked.append(features[low + int(float(draws[i]) * (high - low))])
    return torch.stack(picked).mean(0)


def release_video_loss(video_score, cas, embedded, labels, points, pseudo_labels, uniform,
                       lambdas=(1.0, 0.5, 1.0, 1.0, 1.0), tau=0.1):
    """One video: video_score (C,), cas (T, C+1), embedded (T, H), labels (C,), points (T, C),
    pseudo_labels (T, C) or None, uniform (C, T, 3) draws. -> total loss (scalar tensor)."""
    length, channels = cas.shape
    loss_video = F.binary_cross_entropy(video_score, labels)
    target = torch.cat([points, torch.zeros(length, 1)], 1)
    at_point = target.max(1).values
    focal = ((1 - cas) * target + cas * (1 - target)) ** 2
    loss_point = (focal * F.binary_cross_entropy(cas, target, reduction="none") * at_point[:, None]).sum() / at_point.sum()
    _, bkg_seed = select_seeds(cas.detach()[None], points[None])
    target_bkg = torch.zeros_like(cas)
    target_bkg[:, -1] = 1
    focal_bkg = ((1 - cas) * target_bkg + cas * (1 - target_bkg)) ** 2
    loss_bkg = (focal_bkg * F.binary_cross_entropy(cas, target_bkg, reduction="none") * bkg_seed[0][:, None]).sum() \
        / bkg_seed.sum()
    loss_score = loss_feature = torch.zeros(())
    if pseudo_labels is not None:
        act_terms, bkg_terms, feature_value = [], [], torch.zeros(())
        for c in torch.nonzero(labels).flatten().tolist():
            flags = pseudo_labels[:, c].tolist()
            act_runs = runs_of(flags)
            for start, end in runs_of([1 - f for f in flags]):
                bkg_terms.append(1 - oic(1 - cas[:, c], start, end))
            if not act_runs:
                continue
            segments = []  # (is_action, start, end) in time order
            if act_runs[0][0] > 0:
                segments.append((0, 0, act_runs[0][0] - 1))
            for i, (start, end) in enumerate(act_runs):
                segments.append((1, start, end))
                if end != length - 1:
                    segments.append((0, end + 1, act_runs[i + 1][0] - 1 if i + 1 < len(act_runs) else length - 1))
                act_terms.append(1 - oic(cas[:, c], start, end))
            is_action = torch.tensor([float(a) for a, _, _ in segments])
            if is_action.sum() > 1:
                feats = torch.stack([sampled_feature(embedded, s, e, uniform[c, s]) for _, s, e in segments])
                feats = feats / feats.norm(dim=1, keepdim=True)
                similarity = torch.exp(feats @ feats.T / tau).clone().fill_diagonal_(0)
                q = (similarity * is_action[:, None]).sum(0) / similarity.sum(0)
                feature_value = (-is_action * torch.log(q)).sum() / is_action.sum()  # the last class wins
        loss_act = sum(act_terms) / len(act_terms) if act_terms else 0
        loss_background = sum(bkg_terms) / len(bkg_terms) if bkg_terms else 0
        loss_score = torch.as_tensor((loss_act + loss_background) ** 2)
        loss_feature = feature_value if act_terms else torch.zeros(())
    parts = (loss_video, loss_point, loss_bkg, loss_score, loss_feature)
    return sum(weight * part for weight, part in zip(lambdas, parts))

