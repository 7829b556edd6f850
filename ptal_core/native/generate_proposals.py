import torch

from ptal_core.native.common import address, kernel
from ptal_core.reference.generate_proposals import compact, proposal_capacity


def generate_proposals_padded_cpu(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    """Per-video tables: pairs (B, C, 2), scores (B, C) (rows past counts[b] are not written) and counts (B,)."""
    start_prob, end_prob = start_prob.contiguous(), end_prob.contiguous()
    num_videos, num_snippets = start_prob.shape
    capacity = proposal_capacity(num_snippets, d_min, d_max, max_proposals)
    pairs = torch.empty((num_videos, capacity, 2), dtype=torch.int64)
    scores = torch.empty((num_videos, capacity), dtype=start_prob.dtype)
    counts = torch.empty(num_videos, dtype=torch.int64)
    kernel("_cpu", "generate_proposals", start_prob.dtype)(
        address(start_prob), address(end_prob), address(lengths), num_videos, num_snippets, d_min, d_max, capacity,
        address(pairs), address(scores), address(counts))
    return pairs, scores, counts


def generate_proposals_cpu(start_prob, end_prob, lengths, d_min, d_max, max_proposals):
    return compact(*generate_proposals_padded_cpu(start_prob, end_prob, lengths, d_min, d_max, max_proposals))
