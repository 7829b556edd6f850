"""Ordering and grouping of flat segment collections, shared by every NMS backend."""
from __future__ import annotations

import torch


def score_order(scores: torch.Tensor) -> torch.Tensor:
    """Indices by decreasing score, ties by lower index. (N,) -> (N,) int64."""
    return torch.sort(scores, descending=True, stable=True).indices


def group_ids(idxs: torch.Tensor | None, count: int, device: torch.device) -> torch.Tensor:
    """The group of each of ``count`` rows: ``idxs`` as int64, or zeros (one group) when None."""
    return torch.zeros(count, dtype=torch.int64, device=device) if idxs is None else idxs.long()


def group_rows(idxs: torch.Tensor | None, count: int, device: torch.device,
               order: torch.Tensor | None = None) -> tuple[torch.Tensor | None, torch.Tensor]:
    """The ``count`` rows grouped by ascending ``idxs`` value (None: one group), in ``order`` (default: index
    order) within a group.

    Returns ``perm`` (N,) int64, the rows in that arrangement (None when it is the rows' own order), and
    ``offsets`` (G+1,) int64: group g is ``perm[offsets[g]:offsets[g + 1]]``.
    """
    if idxs is None:
        return order, torch.tensor([0, count], dtype=torch.int64, device=device)
    if order is None:
        already_grouped = idxs.numel() < 2 or bool((idxs[1:] >= idxs[:-1]).all())
        perm = None if already_grouped else torch.sort(idxs, stable=True).indices
    else:
        perm = order[torch.sort(idxs[order], stable=True).indices]
    counts = torch.unique_consecutive(arranged(idxs, perm), return_counts=True)[1]
    offsets = torch.zeros(counts.numel() + 1, dtype=torch.int64, device=device)
    torch.cumsum(counts, 0, out=offsets[1:])
    return perm, offsets


def arranged(values: torch.Tensor, perm: torch.Tensor | None) -> torch.Tensor:
    """``values`` (N, ...) in the arrangement of :func:`group_rows`: ``values[perm]``, or ``values``."""
    return values if perm is None else values[perm]


def original_rows(rows: torch.Tensor, perm: torch.Tensor | None) -> torch.Tensor:
    """The original indices of rows of that arrangement: ``perm[rows]``, or ``rows``."""
    return rows if perm is None else perm[rows]


def used_slots(offsets: torch.Tensor, counts: torch.Tensor):
    """Where the kernels wrote their selections: group g's are slots [offsets[g], offsets[g] + counts[g]) of an
    (N,) output. -> an index of those slots (a slice for one group), in group order."""
    if offsets.numel() == 2:
        return slice(0, int(counts[0]))
    # The j-th selection overall, group g's i-th, is in slot offsets[g] + i = j + (offsets[g] - selections before g).
    before = torch.cumsum(counts, 0) - counts
    shift = torch.repeat_interleave(offsets[:-1] - before, counts)
    return torch.arange(shift.numel(), device=offsets.device) + shift


def score_then_index_order(indices: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Permutation putting (index, score) pairs by decreasing score, ties by lower index."""
    by_index = torch.argsort(indices)
    return by_index[score_order(scores[by_index])]
