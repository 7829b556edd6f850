import torch

from ptal_core.native.common import address, kernel


def oic_scores_cpu(scores, segments, lengths, outer_ratio):
    scores = scores.contiguous()
    num_videos, num_snippets = scores.shape
    prefix = torch.empty((num_videos, num_snippets + 1), dtype=torch.float64)
    out = torch.empty(segments.shape[0], dtype=scores.dtype)
    kernel("_cpu", "oic_scores", scores.dtype)(
        address(scores), num_videos, num_snippets, address(lengths), address(segments), segments.shape[0],
        outer_ratio, address(prefix), address(out))
    return out


def oic_scores_backward_cpu(grad_out, segments, lengths, num_snippets, outer_ratio):
    grad_out = grad_out.contiguous()
    num_videos = lengths.shape[0]
    difference = torch.empty((num_videos, num_snippets + 1), dtype=torch.float64)
    grad_scores = torch.empty((num_videos, num_snippets), dtype=grad_out.dtype)
    kernel("_cpu", "oic_scores_backward", grad_out.dtype)(
        address(grad_out), num_videos, num_snippets, address(lengths), address(segments), segments.shape[0],
        outer_ratio, address(difference), address(grad_scores))
    return grad_scores
