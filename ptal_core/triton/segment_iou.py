"""Triton temporal IoU: one program per (BLOCK_M x BLOCK_N) tile of the (M, N) output, on a 1-D grid (a
second grid axis holds at most 65 535 programs, i.e. 4.19 M columns of 64)."""
import torch
import triton
import triton.language as tl

from ptal_core.triton import device_scalars


@triton.jit
def _segment_iou_kernel(a_ptr, b_ptr, out_ptr, m, n, offset_ptr,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, FP64: tl.constexpr):
    column_tiles = tl.cdiv(n, BLOCK_N)
    tile = tl.program_id(0).to(tl.int64)
    rows = (tile // column_tiles) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = (tile % column_tiles) * BLOCK_N + tl.arange(0, BLOCK_N)
    length_offset = tl.load(offset_ptr)  # in the segments' dtype, as the C++ kernels take it
    row_ok, col_ok = rows < m, cols < n
    a_start = tl.load(a_ptr + 2 * rows, mask=row_ok, other=0.0)[:, None]
    a_end = tl.load(a_ptr + 2 * rows + 1, mask=row_ok, other=0.0)[:, None]
    b_start = tl.load(b_ptr + 2 * cols, mask=col_ok, other=0.0)[None, :]
    b_end = tl.load(b_ptr + 2 * cols + 1, mask=col_ok, other=0.0)[None, :]
    inter = tl.maximum(tl.minimum(a_end, b_end) - tl.maximum(a_start, b_start) + length_offset, 0.0)
    union = (a_end - a_start + length_offset) + (b_end - b_start + length_offset) - inter
    positive = union > 0
    safe_union = tl.where(positive, union, 1.0)
    if FP64:
        ratio = inter / safe_union  # IEEE-rounded for float64
    else:
        ratio = tl.math.div_rn(inter, safe_union)  # Triton's float32 "/" is approximate on GPUs
    iou = tl.where(positive, ratio, 0.0)
    out = out_ptr + rows[:, None] * n + cols[None, :]
    tl.store(out, iou, mask=row_ok[:, None] & col_ok[None, :])


def segment_iou(a: torch.Tensor, b: torch.Tensor, length_offset: float = 0.0) -> torch.Tensor:
    a, b = a.contiguous(), b.contiguous()
    m, n = a.shape[0], b.shape[0]
    out = torch.empty((m, n), dtype=a.dtype, device=a.device)
    block_m, block_n = 32, 64
    grid = (triton.cdiv(m, block_m) * triton.cdiv(n, block_n),)
    _segment_iou_kernel[grid](a, b, out, m, n, device_scalars([length_offset], a.dtype, a.device), BLOCK_M=block_m,
                              BLOCK_N=block_n, FP64=a.dtype == torch.float64)
    return out
