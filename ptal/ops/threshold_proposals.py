import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends, lazy
from ptal_core.native import threshold_proposals as native
from ptal_core.reference import threshold_proposals as reference

BACKENDS = Backends("threshold_proposals", reference=reference.threshold_proposals, cpu=native.threshold_proposals_cpu,
                    triton=lazy("ptal_core.triton.threshold_proposals", "threshold_proposals"))
THRESHOLD_DTYPES = (torch.float16, torch.bfloat16, *_checks.FLOAT_DTYPES)


@_arrays.interop
def threshold_proposals(scores: torch.Tensor, thresholds, lengths: torch.Tensor | None = None, *,
                        return_threshold_index: bool = False, backend: str | None = None):
    """Proposals as the maximal runs of snippets above each threshold (LACP's inference, step 3).

    A snippet is inside at threshold ``θ`` when ``value >= θ and value > 0``: LACP zeroes the values
    below the threshold, then takes the runs of values ``> 0`` (so with ``θ <= 0`` zeros are outside).
    Comparisons are done in ``scores``' dtype, the thresholds rounded to it: pass float64 scores to
    reproduce LACP's float64 (NumPy) comparisons bit for bit.

    Args:
        scores: (B, T, K) float32/float64 sequences (e.g. K predicted classes' upsampled CAS), finite
            within each video's length.
        thresholds: (S,) finite thresholds, a float tensor or a sequence of numbers; any order,
            repeats allowed.
        lengths: (B,) integer video lengths in [0, T], on ``scores``' device; None = all T. Snippets
            past a video's length are never inside.
        return_threshold_index: also return which threshold produced each segment.
        backend: "reference", "cpu", "triton" or None (automatic).

    Returns:
        segments (P, 4) int64 rows ``[batch, channel, start, end]``, ``end`` inclusive, ordered by batch,
        then channel, then threshold (in the given order), then start. The same run found at several
        thresholds appears once per threshold. With ``return_threshold_index``, also (P,) int64, the
        index into ``thresholds`` of each row. Empty input (B, T, K or S = 0) gives P = 0.
    """
    scores = _checks.tensor("scores", scores, ndim=3, dtypes=_checks.FLOAT_DTYPES)
    if isinstance(thresholds, torch.Tensor):
        thresholds = _checks.tensor("thresholds", thresholds, ndim=1, dtypes=THRESHOLD_DTYPES)
    else:
        thresholds = [_checks.number(f"thresholds[{i}]", value) for i, value in enumerate(thresholds)]
        thresholds = torch.tensor(thresholds, dtype=torch.float64, device=scores.device)
    device = _checks.same_device(scores=scores, thresholds=thresholds)
    lengths = _checks.lengths_argument("lengths", lengths, scores.shape[0], device)
    segments, threshold_index = _threshold_proposals(scores, thresholds, lengths, BACKENDS.choose(device, backend),
                                                     True)
    return (segments, threshold_index) if return_threshold_index else segments


def threshold_proposals_unchecked(scores: torch.Tensor, thresholds, lengths: torch.Tensor | None = None, *,
                                  return_threshold_index: bool = False, backend: str | None = None):
    """:func:`threshold_proposals` without validation, for inputs that the caller built valid (ptal's models)."""
    if not isinstance(thresholds, torch.Tensor):
        thresholds = torch.tensor(thresholds, dtype=torch.float64, device=scores.device)
    segments, threshold_index = _threshold_proposals(scores, thresholds, lengths,
                                                     BACKENDS.choose(scores.device, backend), False)
    return (segments, threshold_index) if return_threshold_index else segments


@registered
def _threshold_proposals(scores: torch.Tensor, thresholds: torch.Tensor, lengths: torch.Tensor | None, backend: str,
                         check: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """-> segments (P, 4) and the index of each one's threshold (P,)."""
    batch, time, channels = scores.shape
    lengths = _checks.lengths_or_full(lengths, batch, time, scores.device)
    if check:
        _checks.finite("thresholds", thresholds)
        _checks.length_values("lengths", lengths, time)
        _checks.finite_within_lengths("scores", scores, lengths)
    implementation = BACKENDS.implementation(backend, scores.device)
    segments, counts = implementation(scores, thresholds.to(scores.dtype).contiguous(), lengths)
    per_sequence = torch.arange(thresholds.numel(), device=scores.device).repeat(batch * channels)
    return segments, torch.repeat_interleave(per_sequence, counts.flatten(), output_size=segments.shape[0])


@torch.library.register_fake(_threshold_proposals)
def _(scores, thresholds, lengths, backend, check):
    found = torch.library.get_ctx().new_dynamic_size()
    return scores.new_empty((found, 4), dtype=torch.int64), scores.new_empty(found, dtype=torch.int64)
