import torch

from ptal_core.native.common import address, cuda_stream, kernel
from ptal_core.reference.optimal_sequence_search import not_finite_error


def video_scores(pairs: torch.Tensor, pair_scores: torch.Tensor, batch: int) -> torch.Tensor:
    """(B,) float64: mean of the pairs' scores per video, 0 for a video without pairs."""
    total = torch.zeros(batch, dtype=torch.float64, device=pair_scores.device).index_add_(0, pairs[:, 0], pair_scores)
    count = torch.bincount(pairs[:, 0], minlength=batch)
    return torch.where(count > 0, total / count.clamp(min=1), total)


def raise_for_failed_pairs(pairs: torch.Tensor, pair_segments: torch.Tensor) -> None:
    """The kernels' pair_segments: -1 where two action runs have no background seed between them, -2 where the
    class's CAS is not finite within the video (csrc/common/sequence_search.h)."""
    failed = torch.nonzero(pair_segments < 0).flatten()
    if failed.numel():
        first = int(failed[0])
        video, cls = pairs[first].tolist()
        if int(pair_segments[first]) == -2:
            raise not_finite_error(video, cls)
        raise ValueError(f"act_seed/bkg_seed: video {video}, class {cls}: two action runs have no background seed "
                         f"between them")


class _Problem:
    """The kernels' arrays and output buffers, and the results read back. ``pairs`` (P, 2) [video, class]; a
    row of video -1 is skipped by the CUDA kernel."""

    def __init__(self, cas, act_seed, bkg_seed, any_action, pairs, lengths, outer_ratio):
        batch, max_length, num_classes = act_seed.shape
        device = cas.device
        self.cas, self.pairs, self.lengths = cas.contiguous(), pairs.contiguous(), lengths.contiguous()
        self.seeds = act_seed.contiguous(), bkg_seed.contiguous(), any_action.contiguous()
        self.pseudo_labels = torch.zeros((batch, max_length, num_classes), dtype=torch.uint8, device=device)
        self.pair_scores = torch.zeros(self.pairs.shape[0], dtype=torch.float64, device=device)
        self.pair_segments = torch.zeros(self.pairs.shape[0], dtype=torch.int64, device=device)
        self.inputs = (address(self.cas), *map(address, self.seeds), address(self.lengths), address(self.pairs),
                       self.pairs.shape[0], max_length, num_classes, cas.shape[2], outer_ratio)
        self.outputs = (address(self.pseudo_labels), address(self.pair_scores), address(self.pair_segments))


def optimal_sequence_search_cpu(cas, act_seed, bkg_seed, any_action, searched, lengths, method, budget, thresh,
                                outer_ratio, check):
    pairs = torch.nonzero(searched)  # checked whatever `check`: on the CPU it costs nothing
    problem = _Problem(cas, act_seed, bkg_seed, any_action, pairs, lengths, outer_ratio)
    if method == "beam":
        kernel("_cpu", "optimal_sequence_search_beam", cas.dtype)(*problem.inputs, budget, thresh, *problem.outputs)
    else:
        kernel("_cpu", "optimal_sequence_search_exact", cas.dtype)(*problem.inputs, *problem.outputs)
    raise_for_failed_pairs(pairs, problem.pair_segments)
    return problem.pseudo_labels, video_scores(pairs, problem.pair_scores, cas.shape[0]).to(cas.dtype)


WORKSPACE_BOUND_BYTES = 256 * 2**20  # a per-pair workspace of this size at most is allocated without reading sizes
WORKSPACE_BYTES_PER_ENTRY = 3 * 8 + 3 * 8 + 1


def optimal_sequence_search_cuda(cas, act_seed, bkg_seed, any_action, searched, lengths, method, budget, thresh,
                                 outer_ratio, check):
    """One block per (video, class) slot, those not searched exit at once: no host read of the pairs. The
    per-pair workspaces are sized by the bound B * C * (T + 1) when it is small, else read back; the failures
    (csrc/common/sequence_search.h) are read back only with ``check`` (validation never forces a copy)."""
    if method == "beam":
        raise NotImplementedError("the beam search runs on the CPU only (backend='cpu' on CPU tensors); "
                                  "method='exact' runs on the GPU")
    batch, max_length, num_classes = act_seed.shape
    slots = torch.arange(batch * num_classes, device=cas.device)
    is_searched = searched.flatten().bool()
    pairs = torch.stack([torch.where(is_searched, slots // num_classes, -1), slots % num_classes], 1)
    problem = _Problem(cas, act_seed, bkg_seed, any_action, pairs, lengths, outer_ratio)
    work = torch.where(is_searched, problem.lengths[slots // num_classes] + 1, 0)
    work_offsets = torch.nn.functional.pad(torch.cumsum(work, 0), (1, 0))
    bound = batch * num_classes * (max_length + 1)
    size = bound if bound * WORKSPACE_BYTES_PER_ENTRY <= WORKSPACE_BOUND_BYTES else int(work_offsets[-1])
    doubles = [torch.empty(size, dtype=torch.float64, device=cas.device) for _ in range(3)]
    indices = [torch.empty(size, dtype=torch.int64, device=cas.device) for _ in range(3)]
    labels = torch.empty(size, dtype=torch.uint8, device=cas.device)
    workspace = (address(work_offsets), *map(address, doubles), address(indices[0]), address(labels),
                 address(indices[1]), address(indices[2]))
    with cuda_stream(cas.device) as stream:
        kernel("_cuda", "optimal_sequence_search_exact", cas.dtype)(*problem.inputs, *workspace, *problem.outputs,
                                                                    stream)
    if check:
        raise_for_failed_pairs(pairs, problem.pair_segments)
    count = searched.sum(1)
    total = problem.pair_scores.view(batch, num_classes).sum(1)
    scores = torch.where(count > 0, total / count.clamp(min=1), total)
    return problem.pseudo_labels, scores.to(cas.dtype)
