"""Reference proposal feature sampling (APN's PGM): features at N uniform points of each expanded proposal,
by linear interpolation between neighbouring snippets, clamped to the video."""
import torch


def sample_positions(proposals: torch.Tensor, lengths: torch.Tensor, num_samples: int, expand: float):
    """Where each proposal (P, 3: batch, start, end) samples its video, in float64.

    Point i of a proposal lies at ``lo + i * ((hi - lo) / (N - 1))`` with ``d = end - start``,
    ``lo = start - d * expand`` and ``hi = end + d * expand``, then is clamped to ``[0, T_b - 1]``.
    Returns ``(left, right, weight)``, each (P, N): the snippets ``left = floor(position)`` and
    ``right = min(left + 1, T_b - 1)``, and ``weight = position - left``, the share of ``right``.
    """
    proposals = proposals.to(torch.float64)
    batch, start, end = proposals.unbind(1)
    duration = end - start
    low = start - duration * expand
    high = end + duration * expand
    step = (high - low) / (num_samples - 1)
    index = torch.arange(num_samples, dtype=torch.float64, device=proposals.device)
    last = (lengths[batch.long()] - 1).to(torch.float64)[:, None]
    position = torch.minimum(torch.clamp(low[:, None] + index * step[:, None], min=0.0), last)
    left = torch.floor(position)
    right = torch.minimum(left + 1, last)
    return left.long(), right.long(), position - left


def sample_proposal_features(features: torch.Tensor, proposals: torch.Tensor, lengths: torch.Tensor,
                             num_samples: int, expand: float) -> torch.Tensor:
    """(P, N, E) features of ``features`` (B, T, E) at the points of :func:`sample_positions`:
    ``(1 - w) * x[left] + w * x[right]``, ``w`` rounded to the features' dtype."""
    left, right, weight = sample_positions(proposals, lengths, num_samples, expand)
    video = proposals[:, 0].long()[:, None]
    weight = weight.to(features.dtype)[..., None]
    return features[video, left] * (1 - weight) + features[video, right] * weight


def sample_proposal_features_backward(grad_out: torch.Tensor, proposals: torch.Tensor, lengths: torch.Tensor,
                                      num_snippets: int, expand: float) -> torch.Tensor:
    """Gradient (B, T, E) of ``sum(grad_out * sample_proposal_features(features, ...))`` w.r.t. ``features``:
    every point adds ``(1 - w) * grad`` to its ``left`` snippet and ``w * grad`` to its ``right`` one."""
    num_proposals, num_samples, channels = grad_out.shape
    left, right, weight = sample_positions(proposals, lengths, num_samples, expand)
    video = proposals[:, 0].long()[:, None].expand_as(left)
    weight = weight.to(grad_out.dtype)[..., None]
    grad = torch.zeros((lengths.shape[0], num_snippets, channels), dtype=grad_out.dtype, device=grad_out.device)
    grad.index_put_((video, left), grad_out * (1 - weight), accumulate=True)
    grad.index_put_((video, right), grad_out * weight, accumulate=True)
    return grad
