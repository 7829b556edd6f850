import torch
from torch.autograd.function import once_differentiable

from ptal.ops import _checks
from ptal_core.backends import select


def sample_proposal_features(features: torch.Tensor, proposals: torch.Tensor, *, num_samples: int = 32,
                             expand: float = 0.1, lengths: torch.Tensor | None = None,
                             backend: str | None = None) -> torch.Tensor:
    """Features of each proposal at ``num_samples`` uniform points, by linear interpolation (APN's PGM, the
    BMN/BSN proposal feature sampling), differentiable w.r.t. ``features``.

    For a proposal ``[t_s, t_e]`` of video ``b`` (``x = features[b, :T_b]``), ``d = t_e - t_s``,
    ``lo = t_s - d * expand`` and ``hi = t_e + d * expand``, point ``i`` (``0 <= i < N``) lies at
    ``lo + i * ((hi - lo) / (N - 1))`` (so the first is ``lo`` and the last ``hi``), clamped to
    ``[0, T_b - 1]``: positions outside the video take the edge snippet's features. At a position ``u``,
    with ``l = floor(u)``, ``r = min(l + 1, T_b - 1)`` and ``w = u - l``, the feature is
    ``(1 - w) * x[l] + w * x[r]``. Positions are computed in float64 whatever the dtypes, then ``w`` is
    rounded to the features' dtype. A zero-length proposal samples one position N times.

    Gradient: ``d out[k, i] / d x[l] = 1 - w`` and ``/ d x[r] = w``; the fast backends have their own
    backward kernels (``cpu``: summed in float64 in proposal order, deterministic; ``triton``: a segmented
    sum per snippet, no atomics, deterministic), the reference goes through PyTorch autograd. Not
    differentiable w.r.t. ``proposals`` (treated as constants).

    Args:
        features: (B, T, E) float32/float64, finite within each video's length (padding is not read).
        proposals: (P, 3) float32/float64 rows ``[batch, start, end]``: an integral batch index in
            ``[0, B)`` of a video of length >= 1, finite ``start <= end`` in snippet units; they may lie
            partly or wholly outside the video. Any order; duplicates are fine.
        num_samples: N, an int >= 2.
        expand: finite, >= 0: the fraction of ``d`` added on each side (0.1 in BMN and APN).
        lengths: (B,) integer video lengths in ``[0, T]``; None = every video has length T.
        backend: "reference", "cpu", "triton" or None (automatic).

    Returns:
        (P, N, E) in the dtype of ``features``, on its device. No proposals give an empty (0, N, E) result
        whose gradient w.r.t. ``features`` is zero.
    """
    features = _checks.tensor("features", features, ndim=3, dtypes=_checks.FLOAT_DTYPES)
    proposals = _checks.tensor("proposals", proposals, ndim=2, dtypes=_checks.FLOAT_DTYPES, last_dim=3).detach()
    num_samples = _checks.integer("num_samples", num_samples, low=2)
    expand = _checks.number("expand", expand, low=0.0)
    num_videos, num_snippets, channels = features.shape
    lengths = _checks.video_lengths("lengths", lengths, num_videos, num_snippets, features.device)
    device = _checks.same_device(features=features, proposals=proposals, lengths=lengths)
    _checked_proposals(proposals, lengths)
    _checks.finite_snippets("features", features, _checks.valid_snippets(lengths, num_snippets))
    if proposals.shape[0] == 0 or channels == 0:
        return features.flatten()[:0].reshape(proposals.shape[0], num_samples, channels)
    proposals = proposals.contiguous()
    name, impl = select("sample_proposal_features", device, backend)
    if name == "reference":
        return impl(features, proposals, lengths, num_samples, expand)
    return _SampleProposalFeatures.apply(features, proposals, lengths, num_samples, expand, name)


def _checked_proposals(proposals: torch.Tensor, lengths: torch.Tensor) -> None:
    """Raise unless every row ``[batch, start, end]`` is finite, has an integral batch index of a non-empty
    video and ``start <= end``."""
    _checks.finite("proposals", proposals)
    if proposals.shape[0] == 0:
        return
    batch, start, end = proposals.unbind(1)
    num_videos = lengths.shape[0]
    batch_ok = (batch >= 0) & (batch < num_videos) & (batch == torch.floor(batch))
    video = batch.long().clamp(0, max(num_videos - 1, 0))
    video_length = lengths[video] if num_videos else torch.zeros_like(video)
    ok = batch_ok & (video_length > 0) & (start <= end)
    if bool(ok.all()):
        return
    row = int(torch.nonzero(~ok)[0, 0])
    values = proposals[row].tolist()
    if not bool(batch_ok[row]):
        raise ValueError(f"proposals must have an integral batch index in [0, {num_videos}), row {row} is {values}")
    if not bool(video_length[row] > 0):
        raise ValueError(f"proposals must not refer to an empty video, row {row} is {values} and video "
                         f"{int(video[row])} has length 0")
    raise ValueError(f"proposals must have start <= end, row {row} is {values}")


class _SampleProposalFeatures(torch.autograd.Function):
    """Proposal feature sampling through a fast backend's forward and backward kernels."""

    @staticmethod
    def forward(ctx, features, proposals, lengths, num_samples, expand, backend):
        ctx.save_for_backward(proposals, lengths)
        ctx.num_snippets, ctx.expand, ctx.backend = features.shape[1], expand, backend
        return select("sample_proposal_features", features.device, backend)[1](
            features, proposals, lengths, num_samples, expand)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        proposals, lengths = ctx.saved_tensors
        backward_impl = select("sample_proposal_features_backward", grad_out.device, ctx.backend)[1]
        grad_features = backward_impl(grad_out, proposals, lengths, ctx.num_snippets, ctx.expand)
        return grad_features, None, None, None, None, None
