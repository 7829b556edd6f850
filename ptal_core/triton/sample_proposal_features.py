"""Triton proposal feature sampling. The points' neighbouring snippets and weights come from the reference's
float64 arithmetic (:func:`sample_positions`), so every backend samples the same positions.

Forward: one program per (block of points, block of channels) gathers the two neighbouring feature rows of
each point and blends them. Backward, without atomics (deterministic): the points are sorted by their left
snippet, and one program per (video, chunk of snippets, block of channels) walks its snippets in order;
snippet t receives ``(1 - w) * g`` from the points whose left neighbour is t and ``w * g`` from those whose
left neighbour is t - 1 (their right one is t), so each point's gradient row is read once.
"""
import torch
import triton
import triton.language as tl

from ptal_core.reference.sample_proposal_features import sample_positions

BLOCK_POINTS = 32
BLOCK_CHANNELS = 128
CHUNK_SNIPPETS = 16


@triton.jit
def _forward_kernel(features_ptr, left_ptr, right_ptr, weight_ptr, out_ptr, num_points, channels,
                    BLOCK_S: tl.constexpr, BLOCK_E: tl.constexpr):
    point = tl.program_id(0) * BLOCK_S + tl.arange(0, BLOCK_S)
    channel = tl.program_id(1) * BLOCK_E + tl.arange(0, BLOCK_E)
    point_ok = point < num_points
    mask = point_ok[:, None] & (channel < channels)[None, :]
    left = tl.load(left_ptr + point, mask=point_ok, other=0)
    right = tl.load(right_ptr + point, mask=point_ok, other=0)
    weight = tl.load(weight_ptr + point, mask=point_ok, other=0)[:, None]
    x_left = tl.load(features_ptr + left[:, None] * channels + channel[None, :], mask=mask, other=0)
    x_right = tl.load(features_ptr + right[:, None] * channels + channel[None, :], mask=mask, other=0)
    tl.store(out_ptr + point.to(tl.int64)[:, None] * channels + channel[None, :],
             x_left * (1 - weight) + x_right * weight, mask=mask)


@triton.jit
def _point_sums(grad_out_ptr, order_ptr, weight_ptr, first, last, channel, channel_ok, channels,
                BLOCK_S: tl.constexpr, BLOCK_E: tl.constexpr):
    """Over the sorted points [first, last): the sums of (1 - w) * g (for their left snippet) and of w * g
    (for their right one)."""
    to_left = tl.zeros([BLOCK_E], dtype=grad_out_ptr.dtype.element_ty)
    to_right = tl.zeros([BLOCK_E], dtype=grad_out_ptr.dtype.element_ty)
    for block in range(first, last, BLOCK_S):
        index = block + tl.arange(0, BLOCK_S)
        index_ok = index < last
        point = tl.load(order_ptr + index, mask=index_ok, other=0)
        weight = tl.load(weight_ptr + index, mask=index_ok, other=0)[:, None]
        g = tl.load(grad_out_ptr + point[:, None] * channels + channel[None, :],
                    mask=index_ok[:, None] & channel_ok[None, :], other=0)
        to_left += tl.sum((1 - weight) * g, 0)
        to_right += tl.sum(weight * g, 0)
    return to_left, to_right


@triton.jit
def _backward_kernel(grad_out_ptr, order_ptr, weight_ptr, offsets_ptr, lengths_ptr, grad_ptr, num_snippets,
                     channels, chunks_per_video, CHUNK_T: tl.constexpr, BLOCK_S: tl.constexpr,
                     BLOCK_E: tl.constexpr):
    video = (tl.program_id(0) // chunks_per_video).to(tl.int64)
    first_snippet = (tl.program_id(0) % chunks_per_video) * CHUNK_T
    channel = tl.program_id(1) * BLOCK_E + tl.arange(0, BLOCK_E)
    channel_ok = channel < channels
    length = tl.load(lengths_ptr + video)
    rows = video * num_snippets
    # offsets[r] .. offsets[r + 1] are the sorted points whose left neighbour is flat row r.
    before = rows + tl.maximum(first_snippet - 1, 0)
    has_before = first_snippet > 0
    _, carry = _point_sums(grad_out_ptr, order_ptr, weight_ptr,
                           tl.where(has_before, tl.load(offsets_ptr + before), 0),
                           tl.where(has_before, tl.load(offsets_ptr + before + 1), 0),
                           channel, channel_ok, channels, BLOCK_S, BLOCK_E)
    for t in range(first_snippet, tl.minimum(first_snippet + CHUNK_T, num_snippets)):
        to_left, to_right = _point_sums(grad_out_ptr, order_ptr, weight_ptr, tl.load(offsets_ptr + rows + t),
                                        tl.load(offsets_ptr + rows + t + 1), channel, channel_ok, channels,
                                        BLOCK_S, BLOCK_E)
        value = tl.where(t < length, to_left + carry, 0)
        tl.store(grad_ptr + (rows + t) * channels + channel, value, mask=channel_ok)
        carry = to_right


def _flat_points(features_dtype, proposals, lengths, num_snippets, num_samples, expand):
    """(left rows, right rows) of the flattened (B * T, E) features and weights in the features' dtype,
    each (P * N,)."""
    left, right, weight = sample_positions(proposals, lengths, num_samples, expand)
    video_rows = proposals[:, 0].long()[:, None] * num_snippets
    return ((video_rows + left).flatten(), (video_rows + right).flatten(),
            weight.to(features_dtype).flatten())


def sample_proposal_features(features, proposals, lengths, num_samples, expand):
    features = features.contiguous()
    num_snippets, channels = features.shape[1:]
    left, right, weight = _flat_points(features.dtype, proposals, lengths, num_snippets, num_samples, expand)
    out = torch.empty((proposals.shape[0], num_samples, channels), dtype=features.dtype, device=features.device)
    grid = (triton.cdiv(left.numel(), BLOCK_POINTS), triton.cdiv(channels, BLOCK_CHANNELS))
    _forward_kernel[grid](features, left, right, weight, out, left.numel(), channels, BLOCK_S=BLOCK_POINTS,
                          BLOCK_E=BLOCK_CHANNELS, enable_fp_fusion=False)
    return out


def sample_proposal_features_backward(grad_out, proposals, lengths, num_snippets, expand):
    grad_out = grad_out.contiguous()
    num_proposals, num_samples, channels = grad_out.shape
    num_videos = lengths.shape[0]
    left, _, weight = _flat_points(grad_out.dtype, proposals, lengths, num_snippets, num_samples, expand)
    order = torch.argsort(left, stable=True)
    # offsets[r]: the first sorted point whose left row is >= r (a search, not bincount, which reads the device).
    offsets = torch.searchsorted(left[order], torch.arange(num_videos * num_snippets + 1, device=left.device))
    grad_features = torch.empty((num_videos, num_snippets, channels), dtype=grad_out.dtype, device=grad_out.device)
    chunks_per_video = triton.cdiv(num_snippets, CHUNK_SNIPPETS)
    grid = (num_videos * chunks_per_video, triton.cdiv(channels, BLOCK_CHANNELS))
    _backward_kernel[grid](grad_out, order, weight[order].contiguous(), offsets, lengths, grad_features, num_snippets,
                           channels, chunks_per_video, CHUNK_T=CHUNK_SNIPPETS, BLOCK_S=BLOCK_POINTS,
                           BLOCK_E=BLOCK_CHANNELS, enable_fp_fusion=False)
    return grad_features
