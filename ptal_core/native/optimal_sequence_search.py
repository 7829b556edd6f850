import torch

from ptal_core.backends import register
from ptal_core.native.common import address, cuda_stream, kernel


def searched_pairs(act_seed: torch.Tensor, video_labels: torch.Tensor) -> torch.Tensor:
    """(P, 2) int64 [video, class] pairs to search: labelled classes with at least one action seed.
    act_seed (B, T, C) and video_labels (B, C) are 0/1 uint8."""
    return torch.nonzero(video_labels & act_seed.amax(1))


def video_scores(pairs: torch.Tensor, pair_scores: torch.Tensor, batch: int) -> torch.Tensor:
    """(B,) float64: mean of the pairs' scores per video, 0 for a video without pairs."""
    total = torch.zeros(batch, dtype=torch.float64, device=pair_scores.device).index_add_(0, pairs[:, 0], pair_scores)
    count = torch.bincount(pairs[:, 0], minlength=batch)
    return torch.where(count > 0, total / count.clamp(min=1), total)


def raise_for_gaps(pairs: torch.Tensor, pair_segments: torch.Tensor) -> None:
    bad = torch.nonzero(pair_segments < 0).flatten()
    if bad.numel():
        video, cls = pairs[int(bad[0])].tolist()
        raise ValueError(f"act_seed/bkg_seed: video {video}, class {cls}: two action runs have no background seed "
                         f"between them ({bad.numel()} video·class pair(s) affected)")


def _search(module, cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio):
    batch, max_length, num_classes = act_seed.shape
    device = cas.device
    cas = cas.contiguous()
    act, background = act_seed.contiguous(), bkg_seed.contiguous()
    any_action = act.amax(2).contiguous()
    lengths = lengths.contiguous()
    pairs = searched_pairs(act_seed, video_labels).contiguous()
    num_pairs = pairs.shape[0]
    pseudo_labels = torch.zeros((batch, max_length, num_classes), dtype=torch.uint8, device=device)
    pair_scores = torch.zeros(num_pairs, dtype=torch.float64, device=device)
    pair_segments = torch.zeros(num_pairs, dtype=torch.int64, device=device)
    common = (address(cas), address(act), address(background), address(any_action), address(lengths),
              address(pairs), num_pairs, max_length, num_classes, cas.shape[2], outer_ratio)
    outputs = (address(pseudo_labels), address(pair_scores), address(pair_segments))
    if module == "_cpu" and method == "beam":
        kernel(module, "optimal_sequence_search_beam", cas.dtype)(*common, budget, thresh, *outputs)
    elif module == "_cpu":
        kernel(module, "optimal_sequence_search_exact", cas.dtype)(*common, *outputs)
    elif method == "beam":
        raise NotImplementedError("the beam search runs on the CPU only (backend='cpu' on CPU tensors); "
                                  "method='exact' runs on the GPU")
    else:
        # Per-pair workspaces of (length + 1) entries each.
        work_offsets = torch.nn.functional.pad(torch.cumsum(lengths[pairs[:, 0]] + 1, 0), (1, 0)).contiguous()
        size = int(work_offsets[-1])
        doubles = [torch.empty(size, dtype=torch.float64, device=device) for _ in range(3)]
        indices = [torch.empty(size, dtype=torch.int64, device=device) for _ in range(3)]
        labels = torch.empty(size, dtype=torch.uint8, device=device)
        workspace = (address(work_offsets), *map(address, doubles), address(indices[0]), address(labels),
                     address(indices[1]), address(indices[2]))
        with cuda_stream(device) as stream:
            kernel(module, "optimal_sequence_search_exact", cas.dtype)(*common, *workspace, *outputs, stream)
    raise_for_gaps(pairs, pair_segments)
    return pseudo_labels, video_scores(pairs, pair_scores, batch).to(cas.dtype)


@register("optimal_sequence_search", "cpu")
def optimal_sequence_search_cpu(cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio):
    return _search("_cpu", cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio)


@register("optimal_sequence_search", "cuda")
def optimal_sequence_search_cuda(cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh,
                                 outer_ratio):
    return _search("_cuda", cas, act_seed, bkg_seed, video_labels, lengths, method, budget, thresh, outer_ratio)
