"""Reference threshold proposals: the maximal runs above each threshold, one sequence at a time."""
import torch

from ptal_core.runs import runs


def threshold_proposals(scores: torch.Tensor, thresholds: torch.Tensor,
                        lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximal runs of snippets with ``value >= threshold and value > 0``.

    Args:
        scores: (B, T, K) float.
        thresholds: (S,) of ``scores``' dtype.
        lengths: (B,) int64; snippets past a video's length are never inside a run.

    Returns:
        segments (P, 4) int64 ``[batch, channel, start, end]`` (end inclusive), ordered by batch, channel,
        threshold (in the given order), start; counts (B, K, S) int64, the number of runs of each.
    """
    batch, _, channels = scores.shape
    device = scores.device
    found = [torch.zeros((0, 4), dtype=torch.int64, device=device)]
    counts = torch.zeros((batch, channels, thresholds.numel()), dtype=torch.int64, device=device)
    for video, length in enumerate(lengths.tolist()):
        for channel in range(channels):
            values = scores[video, :length, channel]
            for index, threshold in enumerate(thresholds):
                spans = runs((values >= threshold) & (values > 0))
                counts[video, channel, index] = spans.shape[0]
                where = torch.tensor([[video, channel]], device=device).expand(spans.shape[0], 2)
                found.append(torch.cat([where, spans], 1))
    return torch.cat(found), counts
