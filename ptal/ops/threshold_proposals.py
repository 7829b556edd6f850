import torch

from ptal.ops import _checks
from ptal_core.backends import select


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
    if not isinstance(thresholds, torch.Tensor):
        thresholds = [_checks.number(f"thresholds[{i}]", value) for i, value in enumerate(thresholds)]
        thresholds = torch.tensor(thresholds, dtype=torch.float64, device=scores.device)
    thresholds = _checks.tensor("thresholds", thresholds, ndim=1, dtypes=(torch.float16, torch.bfloat16,
                                                                          *_checks.FLOAT_DTYPES))
    _checks.finite("thresholds", thresholds)
    batch, time, channels = scores.shape
    device = _checks.same_device(scores=scores, thresholds=thresholds)
    lengths = _checks.video_lengths("lengths", lengths, batch, time, device)
    _checks.finite_snippets("scores", scores, _checks.valid_snippets(lengths, time))
    impl = select("threshold_proposals", device, backend)[1]
    segments, counts = impl(scores, thresholds.to(scores.dtype).contiguous(), lengths)
    if not return_threshold_index:
        return segments
    per_sequence = torch.arange(thresholds.numel(), device=device).repeat(batch * channels)
    return segments, torch.repeat_interleave(per_sequence, counts.flatten())
