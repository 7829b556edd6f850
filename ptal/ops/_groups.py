"""Validation of the optional ``idxs`` grouping argument of the NMS ops."""
import torch

from ptal.ops import _checks


def idxs_or_single_group(idxs, segments: torch.Tensor) -> torch.Tensor:
    """``idxs`` checked against ``segments`` (N, 2), or zeros (one group) when None. -> (N,) int64."""
    n = segments.shape[0]
    if idxs is None:
        return torch.zeros(n, dtype=torch.int64, device=segments.device)
    idxs = _checks.tensor("idxs", idxs, dtypes=_checks.INTEGER_DTYPES)
    _checks.length("idxs", idxs, n, "segments")
    return idxs.to(torch.int64)
