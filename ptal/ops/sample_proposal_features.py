import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends, lazy
from ptal_core.native import sample_proposal_features as native
from ptal_core.reference import sample_proposal_features as reference

BACKENDS = Backends("sample_proposal_features", reference=reference.sample_proposal_features,
                    cpu=native.sample_proposal_features_cpu,
                    triton=lazy("ptal_core.triton.sample_proposal_features", "sample_proposal_features"))
BACKWARD = Backends("sample_proposal_features_backward", reference=reference.sample_proposal_features_backward,
                    cpu=native.sample_proposal_features_backward_cpu,
                    triton=lazy("ptal_core.triton.sample_proposal_features", "sample_proposal_features_backward"))


@_arrays.interop
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
    sum per snippet, no atomics, deterministic), the reference's is PyTorch autograd through its forward. Not
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
    proposals = _checks.tensor("proposals", proposals, ndim=2, dtypes=_checks.FLOAT_DTYPES, last_dim=3)
    num_samples = _checks.integer("num_samples", num_samples, low=2)
    expand = _checks.number("expand", expand, low=0.0)
    lengths = _checks.lengths_argument("lengths", lengths, features.shape[0], features.device)
    device = _checks.same_device(features=features, proposals=proposals)
    return _sample_proposal_features(features, proposals, lengths, num_samples, expand,
                                     BACKENDS.choose(device, backend), True)


def sample_proposal_features_unchecked(features: torch.Tensor, proposals: torch.Tensor, *, num_samples: int = 32,
                                       expand: float = 0.1, lengths: torch.Tensor | None = None,
                                       backend: str | None = None) -> torch.Tensor:
    """:func:`sample_proposal_features` without validation, for inputs that the caller built valid (ptal's
    models)."""
    return _sample_proposal_features(features, proposals, lengths, num_samples, float(expand),
                                     BACKENDS.choose(features.device, backend), False)


@registered
def _sample_proposal_features(features: torch.Tensor, proposals: torch.Tensor, lengths: torch.Tensor | None,
                              num_samples: int, expand: float, backend: str, check: bool) -> torch.Tensor:
    num_videos, num_snippets, channels = features.shape
    lengths = _checks.lengths_or_full(lengths, num_videos, num_snippets, features.device)
    if check:
        _checks.length_values("lengths", lengths, num_snippets)
        _checked_proposals(proposals, lengths)
        _checks.finite_within_lengths("features", features, lengths)
    if proposals.shape[0] == 0 or channels == 0:
        return features.new_zeros((proposals.shape[0], num_samples, channels))
    return BACKENDS.implementation(backend, features.device)(features, proposals.contiguous(), lengths, num_samples,
                                                             expand)


@torch.library.register_fake(_sample_proposal_features)
def _(features, proposals, lengths, num_samples, expand, backend, check):
    return features.new_empty((proposals.shape[0], num_samples, features.shape[2]))


@registered
def _sample_proposal_features_backward(grad_out: torch.Tensor, proposals: torch.Tensor, lengths: torch.Tensor | None,
                                       num_videos: int, num_snippets: int, expand: float,
                                       backend: str) -> torch.Tensor:
    """d sum(grad_out * sampled) / d features (B, T, E)."""
    lengths = _checks.lengths_or_full(lengths, num_videos, num_snippets, grad_out.device)
    if grad_out.numel() == 0:
        return grad_out.new_zeros((num_videos, num_snippets, grad_out.shape[2]))
    return BACKWARD.implementation(backend, grad_out.device)(grad_out.contiguous(), proposals.contiguous(), lengths,
                                                             num_snippets, expand)


@torch.library.register_fake(_sample_proposal_features_backward)
def _(grad_out, proposals, lengths, num_videos, num_snippets, expand, backend):
    return grad_out.new_empty((num_videos, num_snippets, grad_out.shape[2]))


def _save_for_backward(ctx, inputs, output):
    features, proposals, lengths, _, expand, backend, _ = inputs
    ctx.save_for_backward(proposals, lengths)
    ctx.shape, ctx.expand, ctx.backend = features.shape[:2], expand, backend


def _backward(ctx, grad_out):
    proposals, lengths = ctx.saved_tensors
    grad_features = _sample_proposal_features_backward(grad_out, proposals, lengths, *ctx.shape, ctx.expand,
                                                       ctx.backend)
    return grad_features, None, None, None, None, None, None


torch.library.register_autograd(_sample_proposal_features, _backward, setup_context=_save_for_backward)


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
