"""Snippet-feature sources: one ``(T, D)`` array per video, read lazily.

Every source has the interface of ``FeatureSource``: ``dim``, ``length(video_id)`` (cheap: no
feature is read) and ``load(video_id, start, stop)`` (rows ``[start, stop)`` as float32). The file
readers memory-map their ``.npy`` files, so loading a window of a long video reads only that window.

Layouts:
- ``LacpFeatures``: ``<root>/features/<split>/rgb/<video>.npy`` and ``.../flow/<video>.npy``, each
  ``(T, D/2)`` (I3D: 1024), concatenated RGB ‖ flow to ``(T, D)``; the LACP release's layout.
- ``NpyFeatures``: ``<directory>/<video>.npy`` holding ``(T, D)``; ActionFormer's layout.
- ``ptal.data.sfnet.SfnetFeatures``: SF-Net's and W-TALC's single object array.

``RescaledFeatures`` wraps any of them to give every video the same number of snippets (ActivityNet's
protocol: T = 100), by linear interpolation (:func:`rescale`).

The feature size D is the ``dim`` given, or, with ``dim=None``, read from the first file opened; every
other file must agree.

Errors name the file: ``FileNotFoundError`` for a missing video, ``ValueError`` for a file that is
not a whole ``.npy`` array (truncated, corrupt, another format), an array that is not 2-D or has no rows, has another
size than the other videos or the one given, holds a non-finite value in the rows read, or (LACP layout)
whose RGB and flow lengths differ.
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Protocol

import numpy as np

from ptal.data.atomic import atomic_file

NPY_MAGIC = b"\x93NUMPY"


class FeatureSource(Protocol):
    """What ``VideoDataset`` needs from features: the layouts below and ``SyntheticBenchmark``."""

    dim: int | None  # None until a reader that learns D from its files has opened one

    def length(self, video_id: str) -> int:
        """Number of snippets T of the video."""

    def load(self, video_id: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``[start, stop)`` (``stop=None``: to the end) of the video's features, ``(stop - start, D)``
        float32, a new array."""

    # Optionally, ``mapped(video_id)``: the whole video as a read-only memory-mapped array (a float dtype), which
    # ``VideoDataset`` items then hold instead of a copy in memory (the synthetic twins' cache).


def check_video_id(video_id: str, where: str) -> None:
    """ValueError naming ``where`` unless ``video_id`` is a plain file name (it names feature files): not
    empty, no path separator or NUL, not ``.`` or ``..``."""
    if not isinstance(video_id, str) or video_id in ("", ".", "..") or any(c in video_id for c in "/\\\0"):
        raise ValueError(f"{where}: video id {video_id!r} is not a plain file name (video ids name feature files: "
                         f"no '/', '\\', '..')")


class NpyFeatures:
    """One ``(T, dim)`` array per video: ``<directory>/<prefix><video_id>.npy`` (any float dtype; ActivityNet's
    feature releases often name them ``v_<youtube id>.npy``: ``prefix="v_"``)."""

    def __init__(self, directory: str | PathLike, dim: int | None = None, prefix: str = ""):
        self.directory = Path(directory)
        self.dim = dim
        self.prefix = prefix

    def path(self, video_id: str) -> Path:
        """The file of a video."""
        check_video_id(video_id, str(self.directory))
        return self.directory / f"{self.prefix}{video_id}.npy"

    def length(self, video_id: str) -> int:
        return len(self._open(video_id))

    def load(self, video_id: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        return checked_rows(self._open(video_id), self.path(video_id), start, stop)

    def _open(self, video_id: str) -> np.ndarray:
        path = self.path(video_id)
        array = _open(path, video_id)
        self.dim = check_dim(array.shape[1], self.dim, path)
        return array


def rescale(features: np.ndarray, length: int) -> np.ndarray:
    """(T, D) features resampled to (length, D) float32 by linear interpolation: output snippet i takes the
    features at position ``(i + 0.5) · T / length − 0.5`` of the input (snippet centres aligned, positions clipped
    to ``[0, T − 1]``), interpolated between the two nearest snippets; ``F.interpolate(mode="linear",
    align_corners=False)``. A one-snippet video is repeated."""
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    if len(features) == 0:
        raise ValueError("cannot rescale a video of 0 snippets")
    position = np.clip((np.arange(length) + 0.5) * len(features) / length - 0.5, 0, len(features) - 1)
    left = np.floor(position).astype(np.int64)
    right = np.minimum(left + 1, len(features) - 1)
    weight = (position - left)[:, None]
    features = np.asarray(features, dtype=np.float32)
    return ((1 - weight) * features[left] + weight * features[right]).astype(np.float32)


class RescaledFeatures:
    """A ``FeatureSource`` giving every video of ``source`` exactly ``length`` snippets (:func:`rescale`)."""

    def __init__(self, source: FeatureSource, length: int):
        if length < 1:
            raise ValueError(f"data.fixed_length must be >= 1 to rescale, got {length}")
        self.source = source
        self.fixed_length = length

    @property
    def dim(self) -> int | None:
        return self.source.dim

    def length(self, video_id: str) -> int:
        return self.fixed_length

    def load(self, video_id: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.fixed_length if stop is None else stop
        if not 0 <= start <= stop <= self.fixed_length:
            raise ValueError(f"video {video_id!r}: rows [{start}, {stop}) requested from {self.fixed_length} snippets")
        whole = self.source.load(video_id)
        rows = whole if len(whole) == self.fixed_length else rescale(whole, self.fixed_length)
        return rows[start:stop]


class LacpFeatures:
    """LACP's layout: ``<root>/features/<split>/{rgb,flow}/<video_id>.npy``, each ``(T, dim / 2)``,
    loaded as their concatenation RGB ‖ flow, ``(T, dim)``."""

    def __init__(self, root: str | PathLike, split: str, dim: int | None = None):
        if dim is not None and dim % 2:
            raise ValueError(f"dim must be even (RGB and flow halves), got {dim}")
        self.root = Path(root)
        self.split = split
        self.dim = dim

    def paths(self, video_id: str) -> tuple[Path, Path]:
        """The RGB and flow files of a video."""
        streams = self.root / "features" / self.split
        check_video_id(video_id, str(streams))
        return streams / "rgb" / f"{video_id}.npy", streams / "flow" / f"{video_id}.npy"

    def length(self, video_id: str) -> int:
        return len(self._open(video_id)[0])

    def load(self, video_id: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        arrays = self._open(video_id)
        return np.concatenate([checked_rows(array, path, start, stop)
                               for array, path in zip(arrays, self.paths(video_id))], axis=1)

    def _open(self, video_id: str) -> tuple[np.ndarray, np.ndarray]:
        rgb_path, flow_path = self.paths(video_id)
        rgb, flow = (_open(path, video_id) for path in (rgb_path, flow_path))
        half = None if self.dim is None else self.dim // 2
        for array, path in ((rgb, rgb_path), (flow, flow_path)):
            half = check_dim(array.shape[1], half, path, "half of the features, RGB or flow")
        self.dim = 2 * half
        if len(rgb) != len(flow):
            raise ValueError(f"video {video_id!r}: {rgb_path} has {len(rgb)} snippets but {flow_path} has "
                             f"{len(flow)}; RGB and flow must have the same length")
        return rgb, flow


def _open(path: Path, video_id: str) -> np.ndarray:
    """Memory-map a ``(T, D)`` float array, checking its shape and dtype (not its values)."""
    if not path.is_file():
        raise FileNotFoundError(f"no features for video {video_id!r}: {path} does not exist")
    array = map_npy(path)
    check_matrix(array, path)
    return array


def check_matrix(array, where) -> None:
    """ValueError naming ``where`` (the file, or the file and video) unless ``array`` is a ``(T, D)`` float array
    of T >= 1 snippets."""
    if not isinstance(array, np.ndarray) or array.ndim != 2 or not len(array):
        raise ValueError(f"{where}: features of shape {np.shape(array)}; expected (T, D) with T >= 1 snippets")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{where}: features of dtype {array.dtype}; expected a float dtype")


def check_dim(found: int, expected: int | None, where, what: str = "features") -> int:
    """``found``, the size of a video's ``what`` in ``where`` (a file, or a file and video), when it equals
    ``expected`` or nothing is expected yet; ValueError naming both otherwise."""
    if expected is not None and found != expected:
        raise ValueError(f"{where}: {what} of size {found}; expected {expected} (the size given, or that of the "
                         f"first video read: every video must have the same)")
    return found


def map_npy(path: Path) -> np.ndarray:
    """Memory-map the array of an ``.npy`` file, read-only; ValueError naming the file when it is not a
    whole ``.npy`` array (another format, a cut or damaged header, fewer bytes than the header
    announces, Python objects)."""
    with path.open("rb") as file:
        magic = file.read(len(NPY_MAGIC))
    if magic != NPY_MAGIC:
        raise ValueError(f"{path}: not a NumPy .npy file (it does not start with the .npy magic bytes)")
    try:
        return np.load(path, mmap_mode="r")
    except OSError:
        raise
    except Exception as error:  # a damaged header fails in NumPy's parser (ValueError, SyntaxError, TokenError, ...)
        raise ValueError(f"{path}: unreadable .npy file, truncated or corrupt ({type(error).__name__}: "
                         f"{' '.join(str(error).split())})") from None


def checked_rows(array: np.ndarray, where, start: int, stop: int | None) -> np.ndarray:
    """Rows ``[start, stop)`` as a new float32 array, each value checked to be finite; errors name
    ``where`` (the file, or the file and video)."""
    stop = len(array) if stop is None else stop
    if not 0 <= start <= stop <= len(array):
        raise ValueError(f"{where}: rows [{start}, {stop}) requested from an array of {len(array)} rows")
    rows = np.array(array[start:stop], dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    if len(bad):
        raise ValueError(f"{where}: non-finite value in row {start + bad[0]} "
                         f"({len(bad)} of rows [{start}, {stop}) affected)")
    return rows


def save_features(path: str | PathLike, features: np.ndarray) -> None:
    """Write one video's ``(T, D)`` features to an ``.npy`` file, atomically."""
    with atomic_file(path) as file:
        np.save(file, features)
