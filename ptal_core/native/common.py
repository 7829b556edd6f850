"""Helpers shared by the compiled-kernel glue."""
from __future__ import annotations

import contextlib

import torch

from ptal_core.backends import compiled_module

_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def kernel(module: str, name: str, dtype: torch.dtype):
    """The compiled function ``name`` specialised for ``dtype`` (float32 or float64)."""
    return getattr(compiled_module(module), f"{name}_{_SUFFIX[dtype]}")


def address(tensor: torch.Tensor) -> int:
    """Address of a contiguous tensor's first element, for the compiled kernels."""
    if not tensor.is_contiguous():
        raise ValueError("internal error: compiled kernels need contiguous tensors")
    return tensor.data_ptr()


def order_by_score(indices: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Positions of the (indices, scores) pairs (N,) on the CPU by decreasing score, ties by lower index: the
    compiled twin of ptal_core.grouping.score_then_index_order (a radix sort, several times faster)."""
    indices, scores = indices.contiguous(), scores.contiguous()
    order = torch.empty(indices.numel(), dtype=torch.int64)
    kernel("_cpu", "order_by_score", scores.dtype)(address(scores), address(indices), indices.numel(), address(order))
    return order


@contextlib.contextmanager
def cuda_stream(device: torch.device):
    """Make ``device`` current and yield the address of its current torch stream."""
    with torch.cuda.device(device):
        yield torch.cuda.current_stream(device).cuda_stream
