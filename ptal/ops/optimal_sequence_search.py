import torch

from ptal.ops import _arrays, _checks
from ptal.ops._library import registered
from ptal.ops._binary_masks import binary_masks
from ptal_core.backends import Backends
from ptal_core.native import optimal_sequence_search as native
from ptal_core.reference import optimal_sequence_search as reference

BACKENDS = Backends("optimal_sequence_search", reference=reference.optimal_sequence_search,
                    cpu=native.optimal_sequence_search_cpu, cuda=native.optimal_sequence_search_cuda)
METHODS = ("exact", "beam")


@_arrays.interop
def optimal_sequence_search(cas: torch.Tensor, act_seed: torch.Tensor, bkg_seed: torch.Tensor,
                            video_labels: torch.Tensor, lengths: torch.Tensor | None = None, *,
                            method: str = "exact", budget: int = 25, thresh: float = 0.1,
                            outer_ratio: float = 0.25, backend: str | None = None):
    """LACP's optimal sequence search (OSS): dense pseudo labels from seeds, batched over videos × classes.

    For every video and every class it is labelled with (``video_labels``) that has at least one action
    seed, the action seeds of the class and the background seeds (``bkg_seed`` plus the snippets that are
    action seeds of other classes only) define a transcript: alternating background/action segments, each
    covering a seed range (see docs/lacp.md, OSS steps 1-3). Among the labellings that follow
    it, the search returns the one of maximal mean outer-inner contrast (OIC, ``outer_ratio`` margins; on
    ``cas[..., c]`` for action segments, ``1 - cas[..., c]`` for background ones).

    ``method="exact"`` maximises the mean exactly by dynamic programming over segment starts (O(1) OIC
    from float64 prefix sums); ties go to the earliest boundaries (the lexicographically smallest vector of
    segment starts). ``method="beam"`` is LACP's release's beam search (``budget`` hypotheses, pruning below
    ``thresh``), on the CPU.

    Args:
        cas: (B, T, C+1) float32/float64 fused class activation sequence, finite where it is searched (the
            channels of the searched classes, within each video's length); nothing else is read (the last
            channel, background, is not used).
        act_seed: (B, T, C) 0/1 action seeds (points plus extra seeds from ``select_seeds``), of any real or
            bool dtype.
        bkg_seed: (B, T) 0/1 background seeds; never at a snippet that is an action seed.
        video_labels: (B, C) 0/1 video-level labels.
        lengths: (B,) int lengths (default T); seeds past a video's length are an error.

    Returns:
        ``pseudo_labels`` (B, T, C) uint8: 1 on the action segments of the searched classes, 0 elsewhere
        (and past each video's length); ``sequence_score`` (B,) in ``cas``'s dtype: the mean over the
        searched classes of their mean OIC (0 for a video with none).

    Raises ValueError when two action runs of a searched class have no background seed between them
    (LACP's release fails an assertion there), naming the video and class.
    """
    cas = _checks.tensor("cas", cas, ndim=3, dtypes=_checks.FLOAT_DTYPES)
    batch, max_length, channels = cas.shape
    act_seed = _checks.tensor("act_seed", act_seed, ndim=3)
    bkg_seed = _checks.tensor("bkg_seed", bkg_seed, ndim=2)
    video_labels = _checks.tensor("video_labels", video_labels, ndim=2)
    if act_seed.shape != (batch, max_length, channels - 1):
        raise ValueError(f"act_seed must have shape {(batch, max_length, channels - 1)} (cas has C+1 = {channels} "
                         f"channels), got {tuple(act_seed.shape)}")
    if bkg_seed.shape != (batch, max_length):
        raise ValueError(f"bkg_seed must have shape {(batch, max_length)}, got {tuple(bkg_seed.shape)}")
    if video_labels.shape != (batch, channels - 1):
        raise ValueError(f"video_labels must have shape {(batch, channels - 1)}, got {tuple(video_labels.shape)}")
    device = _checks.same_device(cas=cas, act_seed=act_seed, bkg_seed=bkg_seed, video_labels=video_labels)
    lengths = _checks.lengths_argument("lengths", lengths, batch, device)
    method = _checks.choice("method", method, METHODS)
    budget = _checks.integer("budget", budget, low=1)
    thresh = _checks.number("thresh", thresh)
    outer_ratio = _checks.number("outer_ratio", outer_ratio, low=0.0)
    return _optimal_sequence_search(cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio,
                                    BACKENDS.choose(device, backend), True)


def optimal_sequence_search_unchecked(cas: torch.Tensor, act_seed: torch.Tensor, bkg_seed: torch.Tensor,
                                      video_labels: torch.Tensor, lengths: torch.Tensor | None = None, *,
                                      method: str = "exact", budget: int = 25, thresh: float = 0.1,
                                      outer_ratio: float = 0.25, backend: str | None = None):
    """:func:`optimal_sequence_search` without validation, for inputs that the caller built valid (ptal's
    models)."""
    return _optimal_sequence_search(cas, act_seed, bkg_seed, video_labels, lengths, method, budget, float(thresh),
                                    float(outer_ratio), BACKENDS.choose(cas.device, backend), False)


@registered
def _optimal_sequence_search(cas: torch.Tensor, act_seed: torch.Tensor, bkg_seed: torch.Tensor,
                             video_labels: torch.Tensor, lengths: torch.Tensor | None, method: str, budget: int,
                             thresh: float, outer_ratio: float, backend: str,
                             check: bool) -> tuple[torch.Tensor, torch.Tensor]:
    batch, max_length, _ = cas.shape
    lengths = _checks.lengths_or_full(lengths, batch, max_length, cas.device)
    if check:
        _checks.length_values("lengths", lengths, max_length)
    act_seed, any_action, has_action = binary_masks("act_seed", act_seed, lengths, backend, check)
    bkg_seed = binary_masks("bkg_seed", bkg_seed, lengths, backend, check)[0][..., 0]
    video_labels = _checks.binary("video_labels", video_labels) if check else video_labels.to(torch.uint8)
    if check:
        both = any_action & bkg_seed
        if bool(both.any()):
            video, step = torch.nonzero(both)[0].tolist()
            raise ValueError(f"bkg_seed: video {video}, snippet {step} is both an action seed and a background seed")
    if act_seed.numel() == 0:  # no video, no snippet or no class: nothing to search
        return torch.zeros(act_seed.shape, dtype=torch.uint8, device=cas.device), cas.new_zeros(batch)
    searched = video_labels & has_action  # labelled classes with an action seed
    return BACKENDS.implementation(backend, cas.device)(cas, act_seed, bkg_seed, any_action, searched, lengths, method,
                                                       budget, thresh, outer_ratio, check)


@torch.library.register_fake(_optimal_sequence_search)
def _(cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio, backend, check):
    return act_seed.new_empty(act_seed.shape, dtype=torch.uint8), cas.new_empty(cas.shape[0])
