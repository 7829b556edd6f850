"""Input validation shared by the public ops: every failure names the argument and what was expected.

Two kinds of checks. Metadata checks (types, dtypes, shapes, devices, scalar arguments) read no tensor
data: the public functions run them, also under ``torch.compile``. Value checks (finiteness, ranges,
orderings) read the data: they run inside the registered op, when the public function asks for them,
so that a compiled graph calls them without a graph break and the models' internal entry points skip them.
"""
from __future__ import annotations

import math
import numbers

import torch

FLOAT_DTYPES = (torch.float32, torch.float64)
INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)

# ---- metadata --------------------------------------------------------------------------------------------


def tensor(name: str, value, *, ndim: int | None = None, dtypes=None, last_dim: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (or a NumPy/CuPy array), got {type(value).__name__}")
    if ndim is not None and value.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(value.shape)}")
    if last_dim is not None and value.shape[-1] != last_dim:
        raise ValueError(f"{name} must have last dimension {last_dim}, got shape {tuple(value.shape)}")
    if dtypes is not None and value.dtype not in dtypes:
        expected = " or ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"{name} must have dtype {expected}, got {str(value.dtype).replace('torch.', '')}")
    return value


def segments(name: str, value) -> torch.Tensor:
    """(N, 2) float32/float64 [start, end] rows (their values: :func:`segment_values`)."""
    return tensor(name, value, ndim=2, dtypes=FLOAT_DTYPES, last_dim=2)


def scored_segments(segments_value, scores_value) -> tuple[torch.Tensor, torch.Tensor]:
    """``segments`` (N, 2) as :func:`segments` and ``scores`` (N,) of the same dtype."""
    segments_value = segments("segments", segments_value)
    scores_value = tensor("scores", scores_value, ndim=1, dtypes=FLOAT_DTYPES)
    length("scores", scores_value, segments_value.shape[0], "segments")
    same_dtype("scores", scores_value, segments_value, "segments")
    return segments_value, scores_value


def groups(idxs, segments_value: torch.Tensor) -> torch.Tensor | None:
    """The optional ``idxs`` (N,) integer group ids of the NMS ops, checked against ``segments`` (N, 2)."""
    if idxs is None:
        return None
    idxs = tensor("idxs", idxs, dtypes=INTEGER_DTYPES)
    length("idxs", idxs, segments_value.shape[0], "segments")
    return idxs


def length(name: str, value: torch.Tensor, n: int, what: str) -> None:
    if value.dim() != 1 or value.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match {what}, got {tuple(value.shape)}")


def same_dtype(name: str, value: torch.Tensor, reference: torch.Tensor, reference_name: str) -> None:
    if value.dtype != reference.dtype:
        raise TypeError(f"{name} must have the dtype of {reference_name} ({reference.dtype}), got {value.dtype}")


def same_device(**tensors: torch.Tensor | None) -> torch.device:
    """The one device of the given tensors (None entries are skipped)."""
    named = [(name, t.device) for name, t in tensors.items() if t is not None]
    first = named[0][1]
    if any(device != first for _, device in named):
        listing = ", ".join(f"{name} on {device}" for name, device in named)
        raise ValueError(f"all tensors must be on one device, got {listing}")
    return first


def number(name: str, value, *, low: float | None = None, high: float | None = None,
           low_open: bool = False) -> float:
    """A finite real number in [low, high] (or (low, high] when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def integer(name: str, value, *, low: int | None = None) -> int:
    """An int (a Python or NumPy integer, not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def choice(name: str, value, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def lengths_argument(name: str, value, batch: int, device: torch.device) -> torch.Tensor | None:
    """The optional lengths ``(batch,)`` of the videos of a padded ``(batch, time, ...)`` tensor: an integer
    tensor on ``device`` (its values: :func:`length_values`)."""
    if value is None:
        return None
    value = tensor(name, value, ndim=1, dtypes=INTEGER_DTYPES)
    length(name, value, batch, "the batch")
    if value.device != device:
        raise ValueError(f"{name} must be on {device} with the other tensors, got {value.device}")
    return value


# ---- values (inside the registered ops) -------------------------------------------------------------------


def lengths_or_full(lengths_value: torch.Tensor | None, batch: int, time: int, device: torch.device) -> torch.Tensor:
    """(batch,) contiguous int64 lengths; None means every video is ``time`` long."""
    if lengths_value is None:
        return torch.full((batch,), time, dtype=torch.int64, device=device)
    return lengths_value.to(torch.int64).contiguous()


def length_values(name: str, lengths_value: torch.Tensor, time: int) -> None:
    """Every length in [0, time] (the padded length)."""
    if lengths_value.numel() == 0:
        return
    bounds = torch.aminmax(lengths_value)
    if bounds.min.item() < 0 or bounds.max.item() > time:
        bad = (lengths_value < 0) | (lengths_value > time)
        video = int(torch.nonzero(bad)[0, 0])
        raise ValueError(f"{name} must be in [0, {time}] (the padded length), video {video} has "
                         f"{int(lengths_value[video])}")


def all_finite(value: torch.Tensor) -> bool:
    """Whether a float tensor holds no NaN or inf (its min and max, which propagate NaN, are finite; one
    vectorised pass, much faster than isfinite().all() on the CPU)."""
    if value.numel() == 0:
        return True
    bounds = torch.aminmax(value)
    return math.isfinite(bounds.min.item()) and math.isfinite(bounds.max.item())


def finite(name: str, value: torch.Tensor) -> None:
    if not all_finite(value):
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def segment_values(name: str, value: torch.Tensor) -> None:
    """(N, 2) rows [start, end]: finite, end >= start."""
    finite(name, value)
    bad = value[:, 1] < value[:, 0]
    if bool(bad.any()):
        row = int(torch.nonzero(bad)[0, 0])
        raise ValueError(f"{name} must have end >= start, row {row} is {value[row].tolist()}")


def valid_snippets(lengths_value: torch.Tensor, time: int) -> torch.Tensor:
    """(B, time) bool: True at the snippets inside each video's length."""
    return torch.arange(time, device=lengths_value.device) < lengths_value[:, None]


def finite_within_lengths(name: str, value: torch.Tensor, lengths_value: torch.Tensor) -> None:
    """``value`` (B, T, ...) must be finite within each video's length; padding is not read."""
    if all_finite(value):  # the usual case, decided without a masked copy
        return
    valid = valid_snippets(lengths_value, value.shape[1])
    inside = valid.reshape(*valid.shape, *[1] * (value.dim() - valid.dim()))
    if not all_finite(torch.where(inside, value, torch.zeros((), dtype=value.dtype, device=value.device))):
        raise ValueError(f"{name} must be finite (no NaN or inf) within each video's length")


def probabilities(name: str, value: torch.Tensor, lengths_value: torch.Tensor) -> None:
    """``value`` (B, T) must lie in [0, 1] (so no NaN) within each video's length."""
    valid = valid_snippets(lengths_value, value.shape[1])
    inside = torch.where(valid, value, torch.zeros((), dtype=value.dtype, device=value.device))
    if inside.numel() == 0:
        return
    bounds = torch.aminmax(inside)
    if not (0 <= bounds.min.item() and bounds.max.item() <= 1):  # False for NaN
        raise ValueError(f"{name} must be probabilities in [0, 1] (no NaN) within each video's length")


def binary(name: str, value: torch.Tensor) -> torch.Tensor:
    """A tensor of 0s and 1s, of any real or bool dtype. -> uint8 (cheap to reduce on the CPU)."""
    if value.dtype != torch.bool and int(torch.count_nonzero(value * (1 - value))):  # 0 iff 0 or 1 (NaN: not)
        raise ValueError(f"{name} must hold only 0 and 1")
    return value.to(torch.uint8)

