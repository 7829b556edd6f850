"""Reference 0/1 masks as bytes, with their reductions and the first invalid entry."""
from __future__ import annotations

import torch

NOT_BINARY, PAST_LENGTH = 1, 2  # error kinds (csrc/kernels_cpu.h: BinaryMaskErrorKind)


def binary_masks(values: torch.Tensor, lengths: torch.Tensor, check: bool):
    """values (B, T, K) of any real or bool dtype -> (masks (B, T, K) uint8 = values != 0, any over K (B, T)
    uint8, any over T (B, K) uint8, error).

    ``error`` is None, or (kind, flat index) of the first entry in row-major order that is neither 0 nor 1
    (NOT_BINARY) or nonzero at a snippet t >= lengths[b] (PAST_LENGTH; NOT_BINARY when it is both); it is only
    looked for with ``check``."""
    masks = (values != 0).to(torch.uint8)
    error = None
    if check:
        past = torch.arange(values.shape[1], device=values.device)[:, None] >= lengths[:, None, None]
        kinds = torch.zeros(values.shape, dtype=torch.uint8, device=values.device)
        kinds[masks.bool() & past] = PAST_LENGTH
        kinds[(values != 0) & (values != 1)] = NOT_BINARY
        bad = torch.nonzero(kinds.flatten())
        if bad.numel():
            index = int(bad[0])
            error = (int(kinds.flatten()[index]), index)
    return masks, masks.any(2).to(torch.uint8), masks.any(1).to(torch.uint8), error
