import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal.ops._binary_masks import binary_masks
from ptal_core.backends import Backends, lazy
from ptal_core.native import select_seeds as native
from ptal_core.reference import select_seeds as reference

BACKENDS = Backends("select_seeds", reference=reference.select_seeds, cpu=native.select_seeds_cpu,
                    triton=lazy("ptal_core.triton.select_seeds", "select_seeds"))
POINT_DTYPES = (torch.float32, torch.float64, torch.bool, torch.uint8)


@_arrays.interop
def select_seeds(cas: torch.Tensor, points: torch.Tensor, lengths: torch.Tensor | None = None, *,
                 bkg_thresh: float = 0.95, act_thresh: float = 0.1,
                 backend: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """LACP's pseudo background seeds and extra action seeds (``select_seed`` of the LACP release).

    Per video, let ``b(t) = cas[t, C]`` be the background score and ``a_1 < ... < a_n`` the snippets
    holding a point (of any class). Three kinds of stretches without points get background seeds:

    - left of ``a_1`` (when ``a_1 > 0``): the candidates ``b >= bkg_thresh`` of ``[0, a_1)``; if there
      is one, every snippet from 0 to the last candidate, else ``[0, argmax b]``;
    - right of ``a_n`` (when ``a_n < length - 1``): mirror image, from the first candidate (else from
      the argmax) to the end of the video;
    - between ``a_i`` and ``a_{i+1}`` (when the gap is not empty): if two or more snippets of the gap are
      candidates, everything from the first to the last of them; otherwise only the argmax of b in the
      gap (which is the candidate when there is exactly one).

    Then each point "walks" into the stretches beside it, away from itself: while ``b(t) <= act_thresh``
    and ``t`` is not a background seed, snippet ``t`` becomes a copy of the point's whole row (all its
    classes), and the walk stops at the first snippet that fails. Within a gap both points walk, ``a_i``
    rightwards and ``a_{i+1}`` leftwards; the seeds of a gap stop both walks, so they never meet.
    Comparisons are non-strict (``>=`` and ``<=``) and done in ``cas``'s dtype (the thresholds rounded
    to it). argmax ties go to the first snippet, as torch/NumPy argmax. The release handles the left,
    right and between stretches in that order on one shared ``bkg_seed``; they are disjoint, so the
    order does not change the result.

    A video with no point at all (the release fails on it) is background throughout: under point
    supervision every action instance carries a point, so ``bkg_seed`` is 1 on its whole length and
    ``act_seed`` is 0.

    Args:
        cas: (B, T, C + 1) float32/float64 class activation sequence, background last. Only the
            background channel is read; it must be finite within each video's length.
        points: (B, T, C) point labels, float32/float64/bool/uint8 holding 0 or 1; no point at or past a
            video's length.
        lengths: (B,) integer video lengths in [0, T], on ``cas``'s device; None = all T.
        bkg_thresh: background candidates are ``b >= bkg_thresh`` (0.95 in LACP).
        act_thresh: walks continue while ``b <= act_thresh`` (0.1 in LACP).
        backend: "reference", "cpu", "triton" or None (automatic).

    Returns:
        ``act_seed`` (B, T, C) and ``bkg_seed`` (B, T), 0/1 in ``cas``'s dtype (as the release's float
        masks, ready to weight losses); ``act_seed`` holds the points plus the walks' copies. Rows past
        a video's length are 0. B = 0 or T = 0 gives empty outputs.
    """
    cas = _checks.tensor("cas", cas, ndim=3, dtypes=_checks.FLOAT_DTYPES)
    points = _checks.tensor("points", points, ndim=3, dtypes=POINT_DTYPES)
    batch, time, channels = cas.shape
    if channels < 2:
        raise ValueError(f"cas must have C + 1 >= 2 channels (classes, then background), got shape {tuple(cas.shape)}")
    if points.shape != (batch, time, channels - 1):
        raise ValueError(f"points must have shape {(batch, time, channels - 1)} to match cas {tuple(cas.shape)}, "
                         f"got {tuple(points.shape)}")
    device = _checks.same_device(cas=cas, points=points)
    lengths = _checks.lengths_argument("lengths", lengths, batch, device)
    bkg_thresh = _checks.number("bkg_thresh", bkg_thresh)
    act_thresh = _checks.number("act_thresh", act_thresh)
    return _select_seeds(cas, points, lengths, bkg_thresh, act_thresh, BACKENDS.choose(device, backend), True)


def select_seeds_unchecked(cas: torch.Tensor, points: torch.Tensor, lengths: torch.Tensor | None = None, *,
                           bkg_thresh: float = 0.95, act_thresh: float = 0.1,
                           backend: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`select_seeds` without validation, for inputs that the caller built valid (ptal's models)."""
    return _select_seeds(cas, points, lengths, float(bkg_thresh), float(act_thresh),
                         BACKENDS.choose(cas.device, backend), False)


@registered
def _select_seeds(cas: torch.Tensor, points: torch.Tensor, lengths: torch.Tensor | None, bkg_thresh: float,
                  act_thresh: float, backend: str, check: bool) -> tuple[torch.Tensor, torch.Tensor]:
    batch, time, channels = cas.shape
    lengths = _checks.lengths_or_full(lengths, batch, time, cas.device)
    background = cas[..., -1]
    if check:
        _checks.length_values("lengths", lengths, time)
        _checks.finite_within_lengths("cas[..., C] (the background score)", background, lengths)
    points, anchors, _ = binary_masks("points", points, lengths, backend, check)
    if cas.numel() == 0:
        return cas.new_zeros((batch, time, channels - 1)), cas.new_zeros((batch, time))
    act_seed, bkg_seed = BACKENDS.implementation(backend, cas.device)(background, points, anchors, lengths, bkg_thresh,
                                                                      act_thresh)
    return act_seed.to(cas.dtype), bkg_seed.to(cas.dtype)


@torch.library.register_fake(_select_seeds)
def _(cas, points, lengths, bkg_thresh, act_thresh, backend, check):
    batch, time, channels = cas.shape
    return cas.new_empty((batch, time, channels - 1)), cas.new_empty((batch, time))
