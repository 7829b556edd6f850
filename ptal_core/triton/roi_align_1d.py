"""Triton RoIAlign over time. The sample points, their snippets and weights come from the reference's
arithmetic (:func:`roi_samples`), so every backend samples the same positions; the kernels sum them in the
reference's order.

Forward: one program per (output bin, block of channels) sums its bin's samples. Backward, without atomics
(deterministic): every sample gives two contributions (to its left and right snippet), sorted stably by the
snippet they add to; one program per (video, chunk of snippets, block of channels) walks its snippets and sums
each one's contributions.
"""
import torch
import triton
import triton.language as tl

from ptal_core.reference.roi_align_1d import compute_dtype, roi_grid, roi_samples

BLOCK_SAMPLES = 16
BLOCK_CHANNELS = 64
CHUNK_SNIPPETS = 16


@triton.jit
def _forward_kernel(features_ptr, video_ptr, left_ptr, right_ptr, left_weight_ptr, right_weight_ptr, count_ptr,
                    offsets_ptr, out_ptr, channels, length, output_size, BLOCK_S: tl.constexpr,
                    BLOCK_C: tl.constexpr):
    bin_id = tl.program_id(0)
    channel = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    channel_ok = channel < channels
    roi = bin_id // output_size
    rows = (tl.load(video_ptr + roi) * channels + channel).to(tl.int64) * length
    total = tl.zeros([BLOCK_C], dtype=left_weight_ptr.dtype.element_ty)
    last = tl.load(offsets_ptr + bin_id + 1)
    for block in range(tl.load(offsets_ptr + bin_id), last, BLOCK_S):
        sample = block + tl.arange(0, BLOCK_S)
        sample_ok = sample < last
        mask = sample_ok[:, None] & channel_ok[None, :]
        left = tl.load(left_ptr + sample, mask=sample_ok, other=0)
        right = tl.load(right_ptr + sample, mask=sample_ok, other=0)
        left_weight = tl.load(left_weight_ptr + sample, mask=sample_ok, other=0)[:, None]
        right_weight = tl.load(right_weight_ptr + sample, mask=sample_ok, other=0)[:, None]
        x_left = tl.load(features_ptr + rows[None, :] + left[:, None], mask=mask, other=0).to(total.dtype)
        x_right = tl.load(features_ptr + rows[None, :] + right[:, None], mask=mask, other=0).to(total.dtype)
        total += tl.sum(left_weight * x_left + right_weight * x_right, 0)
    value = total / tl.load(count_ptr + roi)
    target = (roi * channels + channel).to(tl.int64) * output_size + bin_id % output_size
    tl.store(out_ptr + target, value, mask=channel_ok)


@triton.jit
def _backward_kernel(grad_out_ptr, source_ptr, weight_ptr, count_ptr, offsets_ptr, grad_ptr, channels, length,
                     output_size, chunks_per_video, CHUNK_T: tl.constexpr, BLOCK_S: tl.constexpr,
                     BLOCK_C: tl.constexpr):
    video = tl.program_id(0) // chunks_per_video
    first = (tl.program_id(0) % chunks_per_video) * CHUNK_T
    channel = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    channel_ok = channel < channels
    for t in range(first, tl.minimum(first + CHUNK_T, length)):
        row = video * length + t
        total = tl.zeros([BLOCK_C], dtype=weight_ptr.dtype.element_ty)
        # offsets[row] .. offsets[row + 1]: the contributions to snippet t of this video.
        last = tl.load(offsets_ptr + row + 1)
        for block in range(tl.load(offsets_ptr + row), last, BLOCK_S):
            index = block + tl.arange(0, BLOCK_S)
            index_ok = index < last
            source = tl.load(source_ptr + index, mask=index_ok, other=0)  # roi * channels * output_size + bin
            weight = tl.load(weight_ptr + index, mask=index_ok, other=0)[:, None]
            count = tl.load(count_ptr + index, mask=index_ok, other=1)[:, None]
            g = tl.load(grad_out_ptr + source[:, None] + channel.to(tl.int64)[None, :] * output_size,
                        mask=index_ok[:, None] & channel_ok[None, :], other=0)
            total += tl.sum(g.to(total.dtype) * weight / count, 0)
        target = (video * channels + channel).to(tl.int64) * length + t
        tl.store(grad_ptr + target, total, mask=channel_ok)


def roi_align_1d(features, rois, output_size, spatial_scale, sampling_ratio, aligned):
    features = features.contiguous()
    rois = rois.to(compute_dtype(features.dtype))
    channels, length = features.shape[1:]
    _, _, samples, count = roi_grid(rois, output_size, spatial_scale, sampling_ratio, aligned)
    _, _, left, right, left_weight, right_weight, _ = roi_samples(rois, length, output_size, spatial_scale,
                                                                  sampling_ratio, aligned)
    offsets = torch.nn.functional.pad(torch.cumsum(samples.repeat_interleave(output_size), 0), (1, 0))
    # Written in the compute dtype and rounded by torch (the interpreter truncates float32 to bfloat16).
    out = torch.empty((rois.shape[0], channels, output_size), dtype=rois.dtype, device=features.device)
    grid = (rois.shape[0] * output_size, triton.cdiv(channels, BLOCK_CHANNELS))
    _forward_kernel[grid](features, rois[:, 0].long().contiguous(), left, right, left_weight, right_weight,
                          count.contiguous(), offsets, out, channels, length, output_size, BLOCK_S=BLOCK_SAMPLES,
                          BLOCK_C=BLOCK_CHANNELS,
                          enable_fp_fusion=False)
    return out.to(features.dtype)


def roi_align_1d_backward(grad_out, rois, num_videos, length, spatial_scale, sampling_ratio, aligned):
    grad_out = grad_out.contiguous()
    rois = rois.to(compute_dtype(grad_out.dtype))
    num_rois, channels, output_size = grad_out.shape
    roi, bin_index, left, right, left_weight, right_weight, count = roi_samples(
        rois, length, output_size, spatial_scale, sampling_ratio, aligned)
    video_rows = rois[roi, 0].long() * length
    # Each sample adds to its left snippet, then to its right one; a stable sort by target keeps that order.
    target = torch.stack([video_rows + left, video_rows + right], 1).flatten()
    weight = torch.stack([left_weight, right_weight], 1).flatten()
    source = (roi * (channels * output_size) + bin_index).repeat_interleave(2)
    used = weight != 0
    target, weight, source, count = target[used], weight[used], source[used], count.repeat_interleave(2)[used]
    order = torch.argsort(target, stable=True)
    offsets = torch.searchsorted(target[order], torch.arange(num_videos * length + 1, device=target.device))
    grad = torch.empty((num_videos, channels, length), dtype=rois.dtype, device=grad_out.device)
    chunks_per_video = triton.cdiv(length, CHUNK_SNIPPETS)
    grid = (num_videos * chunks_per_video, triton.cdiv(channels, BLOCK_CHANNELS))
    _backward_kernel[grid](grad_out, source[order].contiguous(), weight[order].contiguous(), count[order].contiguous(),
                           offsets, grad, channels, length, output_size, chunks_per_video, CHUNK_T=CHUNK_SNIPPETS,
                           BLOCK_S=BLOCK_SAMPLES, BLOCK_C=BLOCK_CHANNELS, enable_fp_fusion=False)
    return grad.to(grad_out.dtype)
