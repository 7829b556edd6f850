"""Maximal runs of a boolean sequence, shared by the reference implementations."""
import torch


def runs(mask: torch.Tensor) -> torch.Tensor:
    """Maximal runs of True in a 1-D boolean tensor -> (R, 2) int64 ``[start, end]`` (inclusive), in order."""
    padded = torch.nn.functional.pad(mask.to(torch.int8), (1, 1))
    step = padded[1:] - padded[:-1]
    starts = torch.nonzero(step == 1).flatten()
    ends = torch.nonzero(step == -1).flatten() - 1
    return torch.stack([starts, ends], 1)
