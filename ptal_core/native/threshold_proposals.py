import torch

from ptal_core.native.common import address, kernel


def run_offsets(counts: torch.Tensor) -> tuple[torch.Tensor, int]:
    """First output row of each (video, channel, threshold) job from its run count, and the total."""
    offsets = torch.nn.functional.pad(torch.cumsum(counts.flatten(), 0), (1, 0))
    return offsets, int(offsets[-1])


def threshold_proposals_cpu(scores, thresholds, lengths):
    scores, lengths = scores.contiguous(), lengths.contiguous()
    batch, time, channels = scores.shape
    sizes = (batch, time, channels, thresholds.numel())
    counts = torch.empty((batch, channels, thresholds.numel()), dtype=torch.int64)
    kernel("_cpu", "threshold_proposal_counts", scores.dtype)(
        address(scores), address(thresholds), address(lengths), *sizes, address(counts))
    offsets, total = run_offsets(counts)
    segments = torch.empty((total, 4), dtype=torch.int64)
    kernel("_cpu", "threshold_proposals", scores.dtype)(
        address(scores), address(thresholds), address(lengths), *sizes, address(offsets), address(segments))
    return segments, counts
