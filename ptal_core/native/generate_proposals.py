import torch

from ptal_core.native.common import address, kernel


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


def generate_proposals_cpu(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    start_prob, end_prob = start_prob.contiguous(), end_prob.contiguous()
    num_videos, num_snippets = start_prob.shape
    capacity = proposal_capacity(num_snippets, d_min, d_max, max_proposals)
    pairs = torch.empty((num_videos, capacity, 2), dtype=torch.int64)
    scores = torch.empty((num_videos, capacity), dtype=start_prob.dtype)
    counts = torch.empty(num_videos, dtype=torch.int64)
    kernel("_cpu", "generate_proposals", start_prob.dtype)(
        address(start_prob), address(end_prob), address(lengths), num_videos, num_snippets, d_min, d_max, capacity,
        address(pairs), address(scores), address(counts))
    return compact(pairs, scores, counts)
