"""SF-Net's (and W-TALC's) layout: a dataset as one folder of NumPy files.

::

    DIR/<Name>-I3D-JOINTFeatures.npy     an object array of N (T_i, D) float arrays, in videoname order
    DIR/<Name>-Annotations/videoname.npy (N,) bytes, the video ids
                          subset.npy     (N,) bytes, the subset of each video ("training", "validation", ...)
                          segments.npy   (N,) object: per video a list of [start, end] in seconds
                          labels.npy     (N,) object: per video a list of class names, one per segment
                          duration.npy   (N,) or (N, 1) float, seconds
                          classlist.npy  (C,) bytes (THUMOS14: classlist_20classes.npy holds its 20)
                          single_frames/<NAME><k>.txt   annotator k's single frames: video,seconds,class

``<Name>`` is the dataset's ``sfnet_name`` (``GTEA``, ``BEOID``, ``Thumos14``). Object arrays are pickles,
which can run code when NumPy unpickles them, and NumPy's unpickling trusts its input; :func:`read_npy` unpickles
with checked stand-ins for NumPy's arrays, dtypes and scalars and nothing else (``ptal/data/data_pickle.py``), so a
file can hold data and nothing else, and a damaged one is an error.
"""
from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np

from ptal.data.data_pickle import load_data_pickle
from ptal.data.features import check_dim, check_matrix, checked_rows, map_npy


def read_npy(path: str | PathLike) -> np.ndarray:
    """The array of an ``.npy`` file, object arrays included (read whole, data only; see the module
    docstring); ValueError naming the file when it is not a whole ``.npy`` file or refers to anything but
    NumPy data. Arrays of numbers are returned as ``np.load`` reads them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with path.open("rb") as file:
        try:
            version = np.lib.format.read_magic(file)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = header(file)
        except Exception as error:  # a damaged header fails in NumPy's parser (ValueError, SyntaxError, TokenError, ...)
            raise ValueError(f"{path}: not a NumPy .npy file ({type(error).__name__}: {' '.join(str(error).split())})") \
                from None
        if not dtype.hasobject:
            return np.array(map_npy(path))  # read whole; errors name the file
        try:
            array = load_data_pickle(file)
        except Exception as error:  # whatever a damaged pickle makes the unpickler or the stand-ins raise
            raise ValueError(f"{path}: unreadable object array ({error})") from None
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"{path}: holds {type(array).__name__}, not the array of shape {shape} its header announces")
    return array


def feature_file(directory: Path, sfnet_name: str) -> Path:
    return Path(directory) / f"{sfnet_name}-I3D-JOINTFeatures.npy"


def annotation_folder(directory: Path, sfnet_name: str) -> Path:
    return Path(directory) / f"{sfnet_name}-Annotations"


def is_sfnet_folder(directory: str | PathLike, sfnet_name: str) -> bool:
    """Whether ``directory`` holds a dataset in SF-Net's layout (its feature file)."""
    return feature_file(Path(directory), sfnet_name).is_file()


class SfnetFeatures:
    """The features of SF-Net's layout, a ``FeatureSource``: ``DIR/<Name>-I3D-JOINTFeatures.npy``, one
    ``(T, D)`` array per video of ``DIR/<Name>-Annotations/videoname.npy``, in that order.

    The object array cannot be memory-mapped: it is read whole at the first ``length`` or ``load`` (about its
    file's size in memory) and kept until the source is dropped.

    Args:
        directory: the dataset folder.
        sfnet_name: ``<Name>`` (a dataset's ``sfnet_name``).
        dim: the feature size D; None: that of the first video (every video must agree).
    """

    def __init__(self, directory: str | PathLike, sfnet_name: str, dim: int | None = None):
        self.path = feature_file(Path(directory), sfnet_name)
        self.names_path = annotation_folder(Path(directory), sfnet_name) / "videoname.npy"
        self.dim = dim
        self._arrays: dict[str, np.ndarray] | None = None

    def length(self, video_id: str) -> int:
        return len(self._video(video_id))

    def load(self, video_id: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        return checked_rows(self._video(video_id), f"{self.path} (video {video_id!r})", start, stop)

    def _video(self, video_id: str) -> np.ndarray:
        arrays = self._read()
        if video_id not in arrays:
            raise FileNotFoundError(f"no features for video {video_id!r}: it is not in {self.names_path}")
        return arrays[video_id]

    def _read(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            names = text_column(read_npy(self.names_path), self.names_path)
            arrays = read_npy(self.path)
            if arrays.ndim != 1 or len(arrays) != len(names):
                raise ValueError(f"{self.path}: an array of shape {arrays.shape}; expected one entry per video of "
                                 f"{self.names_path} ({len(names)})")
            for name, features in zip(names, arrays):
                where = f"{self.path} (video {name!r})"
                check_matrix(features, where)
                self.dim = check_dim(features.shape[1], self.dim, where)
            self._arrays = dict(zip(names, arrays))
        return self._arrays


def text_column(array: np.ndarray, path: Path) -> list[str]:
    """A 1-D array of byte or text strings (``videoname.npy``, ``subset.npy``, ``classlist.npy``) as str."""
    if array.ndim != 1 or not (array.dtype.kind in "SU" or array.dtype == object):
        raise ValueError(f"{path}: an array of shape {array.shape} and dtype {array.dtype}; expected a list of names")
    names = array.tolist()
    for index, name in enumerate(names):
        try:
            names[index] = name.decode("utf-8") if isinstance(name, bytes) else name
        except UnicodeDecodeError:
            raise ValueError(f"{path}: entry {index}, {name!r:.60}, is not UTF-8 text") from None
        if not isinstance(names[index], str):
            raise ValueError(f"{path}: entry {index}, {name!r:.60}, is not a name")
    return names
