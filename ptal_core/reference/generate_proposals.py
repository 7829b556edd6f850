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


def proposal_capacity(num_snippets: int, d_min: int, d_max: int, max_proposals: int) -> int:
    """Rows per video that can hold its proposals: no more than ``max_proposals``, nor than the pairs
    (start, start + d) with ``d_min <= d <= d_max`` that fit in ``num_snippets``."""
    return max(0, min(max_proposals, num_snippets * (min(d_max, num_snippets - 1) - d_min + 1)))


def compact(pairs: torch.Tensor, scores: torch.Tensor, counts: torch.Tensor):
    """Per-video best pairs (B, C, 2), their scores (B, C) and numbers (B,) -> proposals (P, 3: batch,
    start, end) and scores (P,), by batch then rank."""
    kept = torch.arange(pairs.shape[1], device=pairs.device) < counts[:, None]
    batch = torch.arange(pairs.shape[0], device=pairs.device)[:, None].expand(kept.shape)
    return torch.cat([batch[kept][:, None], pairs[kept]], 1), scores[kept]


def generate_proposals_padded(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    """Each video's best pairs (B, C, 2: start, end) int64 and scores (B, C) in rows ``0 <= r < counts[b]``, by
    rank, zeros after them, and their numbers counts (B,) int64; C = :func:`proposal_capacity`."""
    num_videos, num_snippets = start_prob.shape
    capacity = proposal_capacity(num_snippets, d_min, d_max, max_proposals)
    pairs = torch.zeros((num_videos, capacity, 2), dtype=torch.int64, device=start_prob.device)
    scores = start_prob.new_zeros((num_videos, capacity))
    counts = torch.zeros(num_videos, dtype=torch.int64, device=start_prob.device)
    for b, length in enumerate(lengths.tolist()):
        if length == 0:
            continue
        video_pairs, video_scores = video_proposals(start_prob[b, :length], end_prob[b, :length], d_min, d_max,
                                                    max_proposals)
        count = video_pairs.shape[0]
        pairs[b, :count], scores[b, :count], counts[b] = video_pairs, video_scores, count
    return pairs, scores, counts


def generate_proposals(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    """Proposals (P, 3: batch, start, end) int64 and scores (P,), by batch then rank."""
    return compact(*generate_proposals_padded(start_prob, end_prob, lengths, d_min, d_max, max_proposals))
