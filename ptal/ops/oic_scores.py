import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends, lazy
from ptal_core.native import oic_scores as native
from ptal_core.reference import oic_scores as reference

BACKENDS = Backends("oic_scores", reference=reference.oic_scores, cpu=native.oic_scores_cpu,
                    triton=lazy("ptal_core.triton.oic_scores", "oic_scores"))
BACKWARD = Backends("oic_scores_backward", reference=reference.oic_scores_backward,
                    cpu=native.oic_scores_backward_cpu,
                    triton=lazy("ptal_core.triton.oic_scores", "oic_scores_backward"))


@_arrays.interop
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
    backends have their own backward kernels, the reference's is PyTorch autograd through its forward.

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
    lengths = _checks.lengths_argument("lengths", lengths, scores.shape[0], scores.device)
    device = _checks.same_device(scores=scores, segments=segments)
    outer_ratio = _checks.number("outer_ratio", outer_ratio, low=0.0)
    return _oic_scores(scores, segments, lengths, outer_ratio, BACKENDS.choose(device, backend), True)


def oic_scores_unchecked(scores: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor | None = None, *,
                         outer_ratio: float = 0.25, backend: str | None = None) -> torch.Tensor:
    """:func:`oic_scores` without validation, for inputs that the caller built valid (ptal's models)."""
    return _oic_scores(scores, segments, lengths, float(outer_ratio), BACKENDS.choose(scores.device, backend), False)


@registered
def _oic_scores(scores: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor | None, outer_ratio: float,
                backend: str, check: bool) -> torch.Tensor:
    num_videos, num_snippets = scores.shape
    lengths = _checks.lengths_or_full(lengths, num_videos, num_snippets, scores.device)
    segments = segments.to(torch.int64).contiguous()
    if check:
        _checks.length_values("lengths", lengths, num_snippets)
        _check_segments(segments, lengths)
        _checks.finite_within_lengths("scores", scores, lengths)
    if segments.shape[0] == 0:
        return scores.new_zeros(0)
    return BACKENDS.implementation(backend, scores.device)(scores, segments, lengths, outer_ratio)


@torch.library.register_fake(_oic_scores)
def _(scores, segments, lengths, outer_ratio, backend, check):
    return scores.new_empty(segments.shape[0])


@registered
def _oic_scores_backward(grad_out: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor | None,
                         num_videos: int, num_snippets: int, outer_ratio: float, backend: str) -> torch.Tensor:
    """d sum(grad_out * OIC) / d scores (B, T)."""
    lengths = _checks.lengths_or_full(lengths, num_videos, num_snippets, grad_out.device)
    if segments.shape[0] == 0:
        return grad_out.new_zeros((num_videos, num_snippets))
    return BACKWARD.implementation(backend, grad_out.device)(
        grad_out.contiguous(), segments.to(torch.int64).contiguous(), lengths, num_snippets, outer_ratio)


@torch.library.register_fake(_oic_scores_backward)
def _(grad_out, segments, lengths, num_videos, num_snippets, outer_ratio, backend):
    return grad_out.new_empty((num_videos, num_snippets))


def _save_for_backward(ctx, inputs, output):
    scores, segments, lengths, outer_ratio, backend, _ = inputs
    ctx.save_for_backward(segments, lengths)
    ctx.shape, ctx.outer_ratio, ctx.backend = scores.shape, outer_ratio, backend


def _backward(ctx, grad_out):
    segments, lengths = ctx.saved_tensors
    grad_scores = _oic_scores_backward(grad_out, segments, lengths, *ctx.shape, ctx.outer_ratio, ctx.backend)
    return grad_scores, None, None, None, None, None


torch.library.register_autograd(_oic_scores, _backward, setup_context=_save_for_backward)


def _check_segments(segments: torch.Tensor, lengths: torch.Tensor) -> None:
    """Raise unless every row ``[batch, start, end]`` has a valid batch and ``0 <= start <= end < T_batch``."""
    if segments.shape[0] == 0:
        return
    num_videos = lengths.shape[0]
    batch, start, end = segments.unbind(1)
    batch_ok = (batch >= 0) & (batch < num_videos)
    video_length = lengths[batch.clamp(0, max(num_videos - 1, 0))] if num_videos else torch.zeros_like(batch)
    ok = batch_ok & (start >= 0) & (start <= end) & (end < video_length)
    if bool(ok.all()):
        return
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
