"""What both model families do to videos before a network sees them: cut them into windows and pad
variable-length sequences into one batch."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence


def window_offsets(length: int, window: int, stride: int) -> list[int]:
    """First snippets of the windows that cover a video of ``length`` snippets.

    Windows start every ``stride`` snippets while they end before the video does; the last window is
    aligned to the video's end, so every window is ``window`` long. A video no longer than ``window``
    is one window at 0 (of the video's length). Example: length 300, window 256, stride 128 gives
    [0, 44].
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
    if length <= window:
        return [0]
    offsets = list(range(0, length - window, stride))
    return offsets + [length - window]


def windows(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """The ``(start, stop)`` snippet ranges of :func:`window_offsets`; ``window = 0``: the whole video."""
    if window == 0:
        return [(0, length)]
    return [(offset, min(offset + window, length)) for offset in window_offsets(length, window, stride)]


def pad(sequences: Sequence[torch.Tensor], device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences (T_b, ...) zero-padded into one batch -> ((B, T_max, ...), lengths (B,) int64), on
    ``device`` (default: where the sequences are)."""
    padded = pad_sequence(list(sequences), batch_first=True)
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.int64)
    if device is not None:
        padded = padded.to(device)
    return padded, lengths.to(padded.device)


def valid_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """(B, T) bool: True at the snippets inside each sequence's length."""
    return torch.arange(max_length, device=lengths.device)[None, :] < lengths[:, None]
