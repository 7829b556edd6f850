"""Reference outer-inner contrast (OIC) of segments, LACP's segment score."""
import torch


def outer_margins(start: int, end: int, video_length: int, outer_ratio: float) -> tuple[int, int]:
    """``(outer_start, outer_end)``: the outer margins of the inclusive segment [start, end] are
    [outer_start, start) and (end, outer_end], each ``outer_ratio * len`` long (truncated toward zero) and
    clipped to the video."""
    length = end - start + 1
    return max(0, int(start - outer_ratio * length)), min(video_length - 1, int(end + outer_ratio * length))


def segment_oic(p: torch.Tensor, start: int, end: int, outer_ratio: float) -> torch.Tensor:
    """OIC of the inclusive segment [start, end] of one video's score sequence ``p`` (T_b,): mean of p
    inside minus mean of p over the outer margins; an empty outer set has mean 0."""
    inner = p[start:end + 1].mean()
    outer_start, outer_end = outer_margins(start, end, p.numel(), outer_ratio)
    outer = torch.cat([p[outer_start:start], p[end + 1:outer_end + 1]])
    if outer.numel() == 0:
        return inner
    return inner - outer.mean()


def oic_scores(scores: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor,
               outer_ratio: float) -> torch.Tensor:
    """OIC of every segment (K, 3: batch, start, end) on ``scores`` (B, T), video b being
    ``scores[b, :lengths[b]]``, K >= 1. Computed in float64, returned as (K,) in the dtype of ``scores``."""
    video_lengths = lengths.tolist()
    values = [segment_oic(scores[batch, :video_lengths[batch]].double(), start, end, outer_ratio)
              for batch, start, end in segments.tolist()]
    return torch.stack(values).to(scores.dtype)


def oic_scores_backward(grad_out: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor, num_snippets: int,
                        outer_ratio: float) -> torch.Tensor:
    """Gradient (B, T) of ``sum(grad_out * oic_scores(scores, ...))`` w.r.t. ``scores``: each segment adds
    ``grad_out / len`` on [start, end] and ``-grad_out / |outer|`` on its outer margins. Summed in float64,
    returned in ``grad_out``'s dtype."""
    grad = torch.zeros((lengths.shape[0], num_snippets), dtype=torch.float64, device=grad_out.device)
    video_lengths = lengths.tolist()
    for (batch, start, end), g in zip(segments.tolist(), grad_out.tolist()):
        grad[batch, start:end + 1] += g / (end - start + 1)
        outer_start, outer_end = outer_margins(start, end, video_lengths[batch], outer_ratio)
        outer_count = (start - outer_start) + (outer_end - end)
        if outer_count:
            grad[batch, outer_start:start] -= g / outer_count
            grad[batch, end + 1:outer_end + 1] -= g / outer_count
    return grad.to(grad_out.dtype)
