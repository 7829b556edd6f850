"""Ordering and grouping of flat segment collections, shared by every NMS backend."""
from __future__ import annotations

import torch


def score_order(scores: torch.Tensor) -> torch.Tensor:
    """Indices by decreasing score, ties by lower index. (N,) -> (N,) int64."""
    return torch.sort(scores, descending=True, stable=True).indices


def group_ids(idxs: torch.Tensor | None, count: int, device: torch.device) -> torch.Tensor:
    """The group of each of ``count`` rows: ``idxs`` as int64, or zeros (one group) when None."""
    return torch.zeros(count, dtype=torch.int64, device=device) if idxs is None else idxs.long()


def group_rows(idxs: torch.Tensor, order: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows grouped by ascending ``idxs`` value, in ``order`` (default: index order) within a group.

    Returns ``perm`` (N,) int64, the rows in that arrangement, and ``offsets`` (G+1,) int64: group g is
    ``perm[offsets[g]:offsets[g + 1]]``.
    """
    if order is None:
        order = torch.arange(idxs.numel(), device=idxs.device)
        already_grouped = idxs.numel() < 2 or bool((idxs[1:] >= idxs[:-1]).all())
        perm = order if already_grouped else torch.sort(idxs, stable=True).indices
    else:
        perm = order[torch.sort(idxs[order], stable=True).indices]
    counts = torch.unique_consecutive(idxs[perm], return_counts=True)[1]
    offsets = torch.zeros(counts.numel() + 1, dtype=torch.int64, device=idxs.device)
    torch.cumsum(counts, 0, out=offsets[1:])
    return perm, offsets


def score_then_index_order(indices: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Permutation putting (index, score) pairs by decreasing score, ties by lower index."""
    by_index = torch.argsort(indices)
    return by_index[score_order(scores[by_index])]
