"""Reference proposal generation (APN's PGM, the BSN/BMN boundary rule): candidate boundaries, their pairs,
the best pairs of each video."""
import torch


def boundary_candidates(p: torch.Tensor) -> torch.Tensor:
    """(L,) bool over one video's probabilities ``p`` (L,): a strict local maximum (a missing neighbour at
    either end counts as -inf) or strictly above half the video's maximum."""
    outside = torch.full((1,), float("-inf"), dtype=p.dtype)
    before = torch.cat([outside, p[:-1]])
    after = torch.cat([p[1:], outside])
    return ((p > before) & (p > after)) | (p > 0.5 * p.max())


def video_proposals(ps: torch.Tensor, pe: torch.Tensor, d_min: int, d_max: int, max_proposals: int):
    """One video's best pairs ((K, 2) start, end) and scores (K,): decreasing ``ps[start] * pe[end]``, ties by
    (start, end) ascending."""
    starts = torch.nonzero(boundary_candidates(ps))[:, 0]
    ends = torch.nonzero(boundary_candidates(pe))[:, 0]
    duration = ends[None, :] - starts[:, None]
    start_row, end_column = torch.nonzero((duration >= d_min) & (duration <= d_max)).unbind(1)  # (start, end) order
    pairs = torch.stack([starts[start_row], ends[end_column]], 1)
    scores = ps[pairs[:, 0]] * pe[pairs[:, 1]]
    rank = torch.sort(scores, descending=True, stable=True).indices[:max_proposals]
    return pairs[rank], scores[rank]


def generate_proposals(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    """Proposals (P, 3: batch, start, end) int64 and scores (P,), by batch then rank."""
    proposals, scores = [], []
    for b, length in enumerate(lengths.tolist()):
        if length == 0:
            continue
        pairs, pair_scores = video_proposals(start_prob[b, :length], end_prob[b, :length], d_min, d_max,
                                             max_proposals)
        proposals.append(torch.cat([torch.full_like(pairs[:, :1], b), pairs], 1))
        scores.append(pair_scores)
    if not proposals:
        return torch.zeros((0, 3), dtype=torch.int64), start_prob.new_zeros(0)
    return torch.cat(proposals), torch.cat(scores)
