"""Triton outer-inner contrast (OIC) of segments: one program per block of segments.

Forward: float64 prefix sums of each video (torch.cumsum), then every segment's OIC from six of them.
Backward: each segment adds its four steps of d OIC / d p (1 / len on [s, e], -1 / |outer| on the outer
margins) into a float64 difference array by atomic adds; a cumulative sum turns it into the gradient.
Not bitwise deterministic on a GPU: the float64 atomic adds land in an order that changes from run to run, and
torch.cumsum there is a parallel scan (a different summation order from the CPU's), so gradients differ between
runs and from the CPU by float64 rounding (far inside the documented 1e-12 / 1e-6 tolerances), never more.
The outer-margin rule is the one of csrc/common/oic.h, evaluated in float64 without FMA contraction.
"""
import torch
import triton
import triton.language as tl

from ptal_core.triton import device_scalars

BLOCK = 256


@triton.jit
def _segment_fields(segments_ptr, lengths_ptr, ratio_ptr, block_start, num_segments, BLOCK: tl.constexpr):
    """Per segment of the block: video, start, end, outer_start, outer_end, and the in-range mask."""
    k = block_start + tl.arange(0, BLOCK)
    valid = k < num_segments
    row = segments_ptr + 3 * k.to(tl.int64)
    video = tl.load(row, mask=valid, other=0)
    start = tl.load(row + 1, mask=valid, other=0)
    end = tl.load(row + 2, mask=valid, other=0)
    length = tl.load(lengths_ptr + video, mask=valid, other=1)
    outer_ratio = tl.load(ratio_ptr)
    span = (end - start + 1).to(tl.float64)
    # float -> int conversion truncates toward zero, as int() does.
    outer_start = tl.maximum((start.to(tl.float64) - outer_ratio * span).to(tl.int64), 0)
    outer_end = tl.minimum((end.to(tl.float64) + outer_ratio * span).to(tl.int64), length - 1)
    return k, valid, video, start, end, outer_start, outer_end


@triton.jit
def _oic_forward_kernel(prefix_ptr, segments_ptr, lengths_ptr, ratio_ptr, out_ptr, num_segments, prefix_stride,
                        BLOCK: tl.constexpr):
    k, valid, video, start, end, outer_start, outer_end = _segment_fields(
        segments_ptr, lengths_ptr, ratio_ptr, tl.program_id(0) * BLOCK, num_segments, BLOCK)
    row = prefix_ptr + video * prefix_stride
    at_start = tl.load(row + start, mask=valid, other=0.0)
    after_end = tl.load(row + end + 1, mask=valid, other=0.0)
    at_outer_start = tl.load(row + outer_start, mask=valid, other=0.0)
    after_outer_end = tl.load(row + outer_end + 1, mask=valid, other=0.0)
    inner = (after_end - at_start) / (end - start + 1).to(tl.float64)
    outer_count = (start - outer_start) + (outer_end - end)
    outer_sum = (at_start - at_outer_start) + (after_outer_end - after_end)
    outer = tl.where(outer_count > 0, outer_sum / tl.maximum(outer_count, 1).to(tl.float64), 0.0)
    tl.store(out_ptr + k, (inner - outer).to(out_ptr.dtype.element_ty), mask=valid)


@triton.jit
def _oic_backward_kernel(grad_out_ptr, segments_ptr, lengths_ptr, ratio_ptr, difference_ptr, num_segments,
                         difference_stride, BLOCK: tl.constexpr):
    k, valid, video, start, end, outer_start, outer_end = _segment_fields(
        segments_ptr, lengths_ptr, ratio_ptr, tl.program_id(0) * BLOCK, num_segments, BLOCK)
    g = tl.load(grad_out_ptr + k, mask=valid, other=0.0).to(tl.float64)
    outer_count = (start - outer_start) + (outer_end - end)
    inner_step = g / (end - start + 1).to(tl.float64)
    outer_step = tl.where(outer_count > 0, g / tl.maximum(outer_count, 1).to(tl.float64), 0.0)
    row = difference_ptr + video * difference_stride
    tl.atomic_add(row + outer_start, -outer_step, mask=valid)
    tl.atomic_add(row + start, inner_step + outer_step, mask=valid)
    tl.atomic_add(row + end + 1, -(inner_step + outer_step), mask=valid)
    tl.atomic_add(row + outer_end + 1, outer_step, mask=valid)


def oic_scores(scores, segments, lengths, outer_ratio):
    num_segments = segments.shape[0]
    prefix = torch.nn.functional.pad(torch.cumsum(scores.to(torch.float64), 1), (1, 0)).contiguous()
    out = torch.empty(num_segments, dtype=scores.dtype, device=scores.device)
    _oic_forward_kernel[(triton.cdiv(num_segments, BLOCK),)](
        prefix, segments, lengths, device_scalars([outer_ratio], torch.float64, scores.device), out, num_segments, prefix.stride(0),
        BLOCK=BLOCK, enable_fp_fusion=False)
    return out


def oic_scores_backward(grad_out, segments, lengths, num_snippets, outer_ratio):
    num_segments = segments.shape[0]
    difference = torch.zeros((lengths.shape[0], num_snippets + 1), dtype=torch.float64, device=grad_out.device)
    _oic_backward_kernel[(triton.cdiv(num_segments, BLOCK),)](
        grad_out.contiguous(), segments, lengths, device_scalars([outer_ratio], torch.float64, grad_out.device), difference, num_segments,
        difference.stride(0), BLOCK=BLOCK, enable_fp_fusion=False)
    grad = torch.cumsum(difference[:, :num_snippets], 1)
    inside = torch.arange(num_snippets, device=grad.device) < lengths[:, None]
    return torch.where(inside, grad, 0.0).to(grad_out.dtype)
