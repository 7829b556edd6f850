import torch
from torch.autograd.function import once_differentiable

from ptal.ops import _checks
from ptal_core.backends import select


def oic_scores(scores: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor | None = None, *,
               outer_ratio: float = 0.25, backend: str | None = None) -> torch.Tensor:
    """Outer-inner contrast (OIC) of many segments at once: LACP's segment score, differentiable.

    For a segment ``[s, e]`` (inclusive) of video ``b``, whose score sequence is ``p = scores[b, :T_b]``:
    ``len = e - s + 1``, ``inner = mean(p[s..e])``, outer margins ``[outer_s, s)`` and ``(e, outer_e]`` with
    ``outer_s = max(0, int(s - outer_ratio * len))`` and ``outer_e = min(T_b - 1, int(e + outer_ratio * len))``
    (``int`` truncates toward zero, as LACP's release does), ``outer`` = mean of p over both margins (0 when
    they are empty, e.g. for a segment covering the whole video), and ``OIC = inner - outer``.

    Computed in float64 whatever the input dtype. Differentiable w.r.t. ``scores``:
    ``d OIC / d p[t]`` is ``1 / len`` inside the segment and ``-1 / |outer|`` on the margins; the fast
    backends have their own backward kernels, the reference goes through PyTorch autograd.

    Args:
        scores: (B, T) float32/float64, finite over each video's length (padding is ignored).
        segments: (K, 3) integer rows ``[batch, start, end]``, ``0 <= start <= end < T_b``.
            Duplicates and overlaps are fine.
        lengths: (B,) integer video lengths in ``[0, T]``; None = every video has length T.
        outer_ratio: finite, >= 0: each outer margin is ``outer_ratio * len`` snippets (truncated).
        backend: "reference", "cpu", "triton" or None (automatic).

    Returns:
        (K,) OIC per segment, in the dtype of ``scores``, on its device. No segments give an empty (0,)
        result whose gradient w.r.t. ``scores`` is zero.
    """
    scores = _checks.tensor("scores", scores, ndim=2, dtypes=_checks.FLOAT_DTYPES)
    segments = _checks.tensor("segments", segments, ndim=2, dtypes=_checks.INTEGER_DTYPES, last_dim=3)
    lengths = _checks.video_lengths("lengths", lengths, scores.shape[0], scores.shape[1], scores.device)
    device = _checks.same_device(scores=scores, segments=segments, lengths=lengths)
    outer_ratio = _checks.number("outer_ratio", outer_ratio, low=0.0)
    segments = _checked_segments(segments.to(torch.int64).contiguous(), lengths)
    _checks.finite_snippets("scores", scores, _checks.valid_snippets(lengths, scores.shape[1]))
    if segments.shape[0] == 0:
        return scores.flatten()[:0].clone()
    name, impl = select("oic_scores", device, backend)
    if name == "reference":
        return impl(scores, segments, lengths, outer_ratio)
    return _OicScores.apply(scores, segments, lengths, outer_ratio, name)


def _checked_segments(segments: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Raise unless every row ``[batch, start, end]`` has a valid batch and ``0 <= start <= end < T_batch``."""
    if segments.shape[0] == 0:
        return segments
    num_videos = lengths.shape[0]
    batch, start, end = segments.unbind(1)
    batch_ok = (batch >= 0) & (batch < num_videos)
    video_length = lengths[batch.clamp(0, max(num_videos - 1, 0))] if num_videos else torch.zeros_like(batch)
    ok = batch_ok & (start >= 0) & (start <= end) & (end < video_length)
    if bool(ok.all()):
        return segments
    row = int(torch.nonzero(~ok)[0, 0])
    b, s, e = segments[row].tolist()
    if not 0 <= b < num_videos:
        expected = f"a batch index in [0, {num_videos})"
    elif s < 0:
        expected = "start >= 0"
    elif s > e:
        expected = "start <= end"
    else:
        raise ValueError(f"segments must end before their video's length, row {row} is {[b, s, e]} "
                         f"and video {b} has length {int(lengths[b])}")
    raise ValueError(f"segments must have {expected}, row {row} is {[b, s, e]}")


class _OicScores(torch.autograd.Function):
    """OIC through a fast backend's forward and backward kernels."""

    @staticmethod
    def forward(ctx, scores, segments, lengths, outer_ratio, backend):
        ctx.save_for_backward(segments, lengths)
        ctx.num_snippets, ctx.outer_ratio, ctx.backend = scores.shape[1], outer_ratio, backend
        return select("oic_scores", scores.device, backend)[1](scores, segments, lengths, outer_ratio)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        segments, lengths = ctx.saved_tensors
        backward_impl = select("oic_scores_backward", grad_out.device, ctx.backend)[1]
        grad_scores = backward_impl(grad_out, segments, lengths, ctx.num_snippets, ctx.outer_ratio)
        return grad_scores, None, None, None, None
