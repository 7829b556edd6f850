import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal_core.backends import Backends, lazy
from ptal_core.native import generate_proposals as native
from ptal_core.reference import generate_proposals as reference

BACKENDS = Backends("generate_proposals", reference=reference.generate_proposals, cpu=native.generate_proposals_cpu,
                    triton=lazy("ptal_core.triton.generate_proposals", "generate_proposals"))
PADDED_BACKENDS = Backends("generate_proposals_padded", reference=reference.generate_proposals_padded,
                           cpu=native.generate_proposals_padded_cpu,
                           triton=lazy("ptal_core.triton.generate_proposals", "generate_proposals_padded"))


@_arrays.interop
def generate_proposals(start_prob: torch.Tensor, end_prob: torch.Tensor, lengths: torch.Tensor | None = None, *,
                       d_min: int = 1, d_max: int = 64, max_proposals: int = 1000,
                       backend: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Proposals from boundary probabilities (APN's PGM, the BSN/BMN rule), for many videos in one call.

    Within video ``b`` (snippets ``0 <= t < T_b``), ``t`` is a candidate start when ``p_s = start_prob[b]``
    has a strict local maximum there (``p_s[t] > p_s[t - 1]`` and ``p_s[t] > p_s[t + 1]``, a missing
    neighbour at ``t = 0`` or ``t = T_b - 1`` counting as -inf, so the one snippet of a video with
    ``T_b = 1`` is a candidate) or when ``p_s[t] > 0.5 * max(p_s)``; likewise candidate ends on ``end_prob``.
    Plateaus are no local maxima, and equal probabilities everywhere make every snippet a candidate if
    they are > 0, none if they are 0 (except at ``T_b = 1``). (BMN's release instead always makes
    snippet 0 a start and ``T_b - 1`` an end, and never tests the other edge.) Every pair of a candidate
    start ``s`` and a candidate end ``e`` with ``d_min <= e - s <= d_max`` is a proposal, scored
    ``p_s[s] * p_e[e]`` (in the probabilities' dtype); each video keeps its ``max_proposals`` best, by
    decreasing score, ties by (start, end) ascending. Every backend returns the same rows in the same
    order and bit-identical scores.

    Args:
        start_prob, end_prob: (B, T) float32/float64 of one dtype, in [0, 1] within each video's length
            (padding is not read).
        lengths: (B,) integer video lengths in ``[0, T]``; None = every video has length T.
        d_min: the shortest proposal ``e - s``, an int >= 0 (0: a proposal may be one snippet, ``e = s``).
        d_max: the longest, an int >= d_min.
        max_proposals: proposals kept per video, an int >= 1.
        backend: "reference", "cpu", "triton" or None (automatic).

    Returns:
        proposals (P, 3) int64 rows ``[batch, start, end]`` (inclusive snippet indices), ordered by batch
        then rank, and scores (P,) in the probabilities' dtype. A video without candidate pairs (e.g. of
        length 0, or 1 with ``d_min >= 1``) contributes no rows.
    """
    start_prob = _checks.tensor("start_prob", start_prob, ndim=2, dtypes=_checks.FLOAT_DTYPES)
    end_prob = _checks.tensor("end_prob", end_prob, ndim=2, dtypes=_checks.FLOAT_DTYPES)
    if end_prob.shape != start_prob.shape:
        raise ValueError(f"end_prob must have the shape of start_prob {tuple(start_prob.shape)}, "
                         f"got {tuple(end_prob.shape)}")
    _checks.same_dtype("end_prob", end_prob, start_prob, "start_prob")
    d_min = _checks.integer("d_min", d_min, low=0)
    d_max = _checks.integer("d_max", d_max, low=d_min)
    max_proposals = _checks.integer("max_proposals", max_proposals, low=1)
    device = _checks.same_device(start_prob=start_prob, end_prob=end_prob)
    lengths = _checks.lengths_argument("lengths", lengths, start_prob.shape[0], device)
    return _generate_proposals(start_prob, end_prob, lengths, d_min, d_max, max_proposals,
                               BACKENDS.choose(device, backend), True)


def generate_proposals_unchecked(start_prob: torch.Tensor, end_prob: torch.Tensor, lengths: torch.Tensor | None = None,
                                 *, d_min: int = 1, d_max: int = 64, max_proposals: int = 1000,
                                 backend: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`generate_proposals` without validation, for inputs that the caller built valid (ptal's models)."""
    return _generate_proposals(start_prob, end_prob, lengths, d_min, d_max, max_proposals,
                               BACKENDS.choose(start_prob.device, backend), False)


def generate_proposals_padded_unchecked(start_prob: torch.Tensor, end_prob: torch.Tensor,
                                        lengths: torch.Tensor | None = None, *, d_min: int = 1, d_max: int = 64,
                                        max_proposals: int = 1000,
                                        backend: str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`generate_proposals_unchecked` before compaction, in shapes that depend on no data (so no host
    synchronisation on a GPU): pairs (B, C, 2: start, end) int64, scores (B, C) in the probabilities' dtype and
    counts (B,) int64, with C = ``proposal_capacity(T, d_min, d_max, max_proposals)``. Row ``r < counts[b]`` of
    video ``b`` is the ``r``-th row of video ``b`` in :func:`generate_proposals` (same pair, bit-identical
    score); rows from ``counts[b]`` on hold pair (0, 0) and score 0."""
    return _generate_proposals_padded(start_prob, end_prob, lengths, d_min, d_max, max_proposals,
                                      PADDED_BACKENDS.choose(start_prob.device, backend))


@registered
def _generate_proposals(start_prob: torch.Tensor, end_prob: torch.Tensor, lengths: torch.Tensor | None, d_min: int,
                        d_max: int, max_proposals: int, backend: str, check: bool) -> tuple[torch.Tensor, torch.Tensor]:
    num_videos, num_snippets = start_prob.shape
    lengths = _checks.lengths_or_full(lengths, num_videos, num_snippets, start_prob.device)
    if check:
        _checks.length_values("lengths", lengths, num_snippets)
        _checks.probabilities("start_prob", start_prob, lengths)
        _checks.probabilities("end_prob", end_prob, lengths)
    return BACKENDS.implementation(backend, start_prob.device)(start_prob, end_prob, lengths, d_min, d_max,
                                                               max_proposals)


@torch.library.register_fake(_generate_proposals)
def _(start_prob, end_prob, lengths, d_min, d_max, max_proposals, backend, check):
    found = torch.library.get_ctx().new_dynamic_size()
    return start_prob.new_empty((found, 3), dtype=torch.int64), start_prob.new_empty(found)


@registered
def _generate_proposals_padded(start_prob: torch.Tensor, end_prob: torch.Tensor, lengths: torch.Tensor | None,
                               d_min: int, d_max: int, max_proposals: int,
                               backend: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    num_videos, num_snippets = start_prob.shape
    lengths = _checks.lengths_or_full(lengths, num_videos, num_snippets, start_prob.device)
    pairs, scores, counts = PADDED_BACKENDS.implementation(backend, start_prob.device)(
        start_prob, end_prob, lengths, d_min, d_max, max_proposals)
    # The backends leave anything past a video's count (unwritten memory, score -1): zeros, on the device.
    kept = torch.arange(pairs.shape[1], device=pairs.device) < counts[:, None]
    return torch.where(kept[:, :, None], pairs, 0), torch.where(kept, scores, 0), counts


@torch.library.register_fake(_generate_proposals_padded)
def _(start_prob, end_prob, lengths, d_min, d_max, max_proposals, backend):
    num_videos, num_snippets = start_prob.shape
    capacity = reference.proposal_capacity(num_snippets, d_min, d_max, max_proposals)
    return (start_prob.new_empty((num_videos, capacity, 2), dtype=torch.int64),
            start_prob.new_empty((num_videos, capacity)), start_prob.new_empty(num_videos, dtype=torch.int64))
