"""Reference RoIAlign over time: torchvision's ``roi_align`` on a map of height 1, written for one dimension.

RoI k = ``[video, start, end]`` is cut into ``output_size`` equal bins; each bin's value is the mean of
``samples`` evenly spaced points, each linearly interpolated between its two neighbouring snippets. The
arithmetic (in the compute dtype: float32 for float16/bfloat16/float32 features, float64 for float64) follows
torchvision's operations in their order, so that every backend computes the same positions and weights.
"""
import torch


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 for float64 features, float32 for every other float dtype."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def roi_grid(rois: torch.Tensor, output_size: int, spatial_scale: float, sampling_ratio: int, aligned: bool):
    """Each RoI's grid, from rois (K, 3) in the compute dtype: ``(start, bin, samples, count)``, each (K,).

    ``start = roi_start * spatial_scale - offset`` (offset 0.5 when ``aligned``, else 0), the width
    ``end - start`` (at least 1 unless ``aligned``), ``bin = width / output_size``, ``samples =
    sampling_ratio`` if > 0 else ``ceil(bin)``, ``count = max(samples, 1)``."""
    offset = 0.5 if aligned else 0.0
    start = rois[:, 1] * spatial_scale - offset
    end = rois[:, 2] * spatial_scale - offset
    width = end - start
    if not aligned:
        width = torch.clamp(width, min=1.0)
    bin_size = width / output_size
    samples = torch.full_like(bin_size, sampling_ratio) if sampling_ratio > 0 else torch.ceil(bin_size)
    samples = samples.to(torch.int64)
    return start, bin_size, samples, samples.clamp(min=1).to(rois.dtype)


def roi_samples(rois: torch.Tensor, length: int, output_size: int, spatial_scale: float, sampling_ratio: int,
                aligned: bool):
    """Every sample point of every RoI, flattened, with what it reads and how.

    Returns ``(roi, bin, left, right, left_weight, right_weight, count)``: per sample (S,), the RoI and bin it
    belongs to, its neighbouring snippets and their weights (both 0 for a point outside ``[-1, length]``; a
    point in ``[-1, 0]`` or ``[length - 1, length]`` reads the end snippet with weight 1), and the count its
    bin's sum is divided by. Samples are ordered by RoI, then bin, then position (torchvision's order)."""
    start, bin_size, samples, count = roi_grid(rois, output_size, spatial_scale, sampling_ratio, aligned)
    per_bin = samples.repeat_interleave(output_size)
    roi = torch.arange(rois.shape[0], device=rois.device).repeat_interleave(output_size).repeat_interleave(per_bin)
    bin_index = torch.arange(output_size, device=rois.device).repeat(rois.shape[0]).repeat_interleave(per_bin)
    first = torch.cumsum(per_bin, 0) - per_bin
    sample_index = torch.arange(int(per_bin.sum()), device=rois.device) - first.repeat_interleave(per_bin)
    dtype = rois.dtype
    # torchvision: start + i * bin + (float)(j + 0.5f) * bin / samples, left to right.
    half_step = (sample_index.to(torch.float32) + 0.5).to(dtype)
    x = start[roi] + bin_index.to(dtype) * bin_size[roi] + half_step * bin_size[roi] / samples[roi].to(dtype)
    outside = (x < -1.0) | (x > length)
    x = torch.clamp(x, min=0.0)
    left = x.to(torch.int64)
    at_end = left >= length - 1
    left = torch.where(at_end, length - 1, left)
    right = torch.where(at_end, left, left + 1)
    x = torch.where(at_end, left.to(dtype), x)
    right_weight = x - left.to(dtype)
    left_weight = 1.0 - right_weight
    zero = torch.zeros((), dtype=dtype, device=rois.device)
    left_weight = torch.where(outside, zero, left_weight)
    right_weight = torch.where(outside, zero, right_weight)
    left = torch.where(outside, 0, left)
    right = torch.where(outside, 0, right)
    return roi, bin_index, left, right, left_weight, right_weight, count[roi]


def roi_align_1d(features: torch.Tensor, rois: torch.Tensor, output_size: int, spatial_scale: float,
                 sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """(K, C, output_size) in the dtype of ``features`` (B, C, T): each bin's mean of its samples'
    ``left_weight * x[left] + right_weight * x[right]`` (x: the RoI video's row of each channel)."""
    dtype = compute_dtype(features.dtype)
    x = features.to(dtype)
    rois = rois.to(dtype)
    num_rois, channels, length = rois.shape[0], x.shape[1], x.shape[2]
    roi, bin_index, left, right, left_weight, right_weight, count = roi_samples(
        rois, length, output_size, spatial_scale, sampling_ratio, aligned)
    video = rois[roi, 0].long()
    values = left_weight[:, None] * x[video, :, left] + right_weight[:, None] * x[video, :, right]  # (S, C)
    sums = torch.zeros((num_rois * output_size, channels), dtype=dtype, device=x.device)
    sums.index_add_(0, roi * output_size + bin_index, values)
    counts = torch.ones(num_rois * output_size, dtype=dtype, device=x.device)
    counts.index_copy_(0, roi * output_size + bin_index, count)
    out = (sums / counts[:, None]).reshape(num_rois, output_size, channels).transpose(1, 2)
    return out.to(features.dtype).contiguous()


def roi_align_1d_backward(grad_out: torch.Tensor, rois: torch.Tensor, num_videos: int, length: int,
                          spatial_scale: float, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """Gradient (B, C, T) of ``sum(grad_out * roi_align_1d(features, ...))`` w.r.t. ``features``: every
    sample adds ``grad * left_weight / count`` to its left snippet and ``grad * right_weight / count`` to its
    right one."""
    dtype = compute_dtype(grad_out.dtype)
    rois = rois.to(dtype)
    channels, output_size = grad_out.shape[1], grad_out.shape[2]
    roi, bin_index, left, right, left_weight, right_weight, count = roi_samples(
        rois, length, output_size, spatial_scale, sampling_ratio, aligned)
    g = grad_out.to(dtype)[roi, :, bin_index]  # (S, C)
    video = rois[roi, 0].long()
    grad = torch.zeros((num_videos, length, channels), dtype=dtype, device=grad_out.device)
    grad.index_put_((video, left), g * left_weight[:, None] / count[:, None], accumulate=True)
    grad.index_put_((video, right), g * right_weight[:, None] / count[:, None], accumulate=True)
    return grad.transpose(1, 2).to(grad_out.dtype).contiguous()

