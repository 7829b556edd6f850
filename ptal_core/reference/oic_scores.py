"""Reference outer-inner contrast (OIC) of segments, LACP's segment score."""
import torch

from ptal_core.backends import register


def segment_oic(p: torch.Tensor, start: int, end: int, outer_ratio: float) -> torch.Tensor:
    """OIC of the inclusive segment [start, end] of one video's score sequence ``p`` (T_b,):
    mean of p inside minus mean of p over the outer margins, each margin ``int(outer_ratio * len)``
    long (truncated toward zero) and clipped to the video; an empty outer set has mean 0."""
    length = end - start + 1
    inner = p[start:end + 1].mean()
    outer_start = max(0, int(start - outer_ratio * length))
    outer_end = min(p.numel() - 1, int(end + outer_ratio * length))
    outer = torch.cat([p[outer_start:start], p[end + 1:outer_end + 1]])
    if outer.numel() == 0:
        return inner
    return inner - outer.mean()


@register("oic_scores", "reference")
def oic_scores(scores: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor,
               outer_ratio: float) -> torch.Tensor:
    """OIC of every segment (K, 3: batch, start, end) on ``scores`` (B, T), video b being
    ``scores[b, :lengths[b]]``, K >= 1. Computed in float64, returned as (K,) in the dtype of ``scores``;
    differentiable through plain PyTorch autograd."""
    video_lengths = lengths.tolist()
    values = [segment_oic(scores[batch, :video_lengths[batch]].double(), start, end, outer_ratio)
              for batch, start, end in segments.tolist()]
    return torch.stack(values).to(scores.dtype)
