import torch

from ptal_core.backends import register
from ptal_core.native.common import address, kernel


def searched_pairs(act_seed: torch.Tensor, video_labels: torch.Tensor) -> torch.Tensor:
    """(P, 2) int64 [video, class] pairs to search: labelled classes with at least one action seed."""
    return torch.nonzero(video_labels.bool() & act_seed.bool().any(1))


def video_scores(pairs: torch.Tensor, pair_scores: torch.Tensor, batch: int) -> torch.Tensor:
    """(B,) float64: mean of the pairs' scores per video, 0 for a video without pairs."""
    total = torch.zeros(batch, dtype=torch.float64, device=pair_scores.device).index_add_(0, pairs[:, 0], pair_scores)
    count = torch.bincount(pairs[:, 0], minlength=batch)
    return torch.where(count > 0, total / count.clamp(min=1), total)


def raise_for_gaps(pairs: torch.Tensor, pair_segments: torch.Tensor) -> None:
    bad = torch.nonzero(pair_segments < 0).flatten()
    if bad.numel():
        video, cls = pairs[int(bad[0])].tolist()
        raise ValueError(f"act_seed/bkg_seed: video {video}, class {cls}: two action runs have no background seed "
                         f"between them ({bad.numel()} video·class pair(s) affected)")


@register("optimal_sequence_search", "cpu")
def optimal_sequence_search_cpu(cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio):
    if method != "exact":
        raise NotImplementedError("the C++ beam search is not implemented yet; use method='exact'")
    batch, max_length, num_classes = act_seed.shape
    cas = cas.contiguous()
    act = act_seed.to(torch.uint8).contiguous()
    background = bkg_seed.to(torch.uint8).contiguous()
    any_action = act.amax(2).contiguous()
    pairs = searched_pairs(act_seed, video_labels).contiguous()
    pseudo_labels = torch.zeros((batch, max_length, num_classes), dtype=torch.uint8)
    pair_scores = torch.zeros(pairs.shape[0], dtype=torch.float64)
    pair_segments = torch.zeros(pairs.shape[0], dtype=torch.int64)
    kernel("_cpu", "optimal_sequence_search_exact", cas.dtype)(
        address(cas), address(act), address(background), address(any_action), address(lengths), address(pairs),
        pairs.shape[0], max_length, num_classes, cas.shape[2], outer_ratio, address(pseudo_labels),
        address(pair_scores), address(pair_segments))
    raise_for_gaps(pairs, pair_segments)
    return pseudo_labels, video_scores(pairs, pair_scores, batch).to(cas.dtype)
