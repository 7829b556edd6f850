"""Unpickling the object arrays of ``.npy`` files as data only: NumPy arrays, dtypes, scalars, byte strings,
lists, tuples, dicts, numbers and strings, each checked before it is built.

A pickle names the functions that rebuild its objects. NumPy's (``_reconstruct`` then ``ndarray.__setstate__``,
``_frombuffer``, ``scalar``, ``dtype`` then ``dtype.__setstate__``) trust their arguments: a damaged file makes
them read or free memory they do not own (NumPy 2.4: an object array whose state announces more entries than
its list holds segfaults in ``ndarray.__setstate__``; a byte flipped into ``BYTEARRAY8`` frees a buffer an
array still uses). Here each of them is replaced by a stand-in that checks the arguments (types, sizes: an
array's bytes or entries are exactly what its shape and dtype need) and builds a fresh object from them; any
other global is refused. Every error is a ``pickle.UnpicklingError`` or ``ValueError``.
"""
from __future__ import annotations

import io
import math
import pickle
import pickletools
import re

import numpy as np

_MEMO_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}  # a memo index as argument
_DTYPE_SPEC = re.compile(r"[?bBiIuUfcSO]\d{0,3}|[<>|=][?bBiIuUfcSO]\d{0,3}")  # 'f8', '<f4', 'S10', 'U5', 'O8', 'b1'


def load_data_pickle(data: bytes | io.BufferedIOBase):
    """The object a pickle holds (``data``: its bytes or a seekable file positioned at it), NumPy's pickles
    checked as described in the module docstring.

    The opcodes are parsed first (``pickletools``, which executes nothing): CPython's unpickler frees a
    ``BYTEARRAY8`` buffer that a reader still holds when the pickle announces more bytes than it has, and sizes
    its memo by the largest index a ``PUT`` names (a flipped byte: gigabytes)."""
    file = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    start = file.tell()
    for count, (opcode, argument, _) in enumerate(pickletools.genops(file)):  # ValueError: an argument cut short
        if opcode.name in _MEMO_OPCODES and not (isinstance(argument, int) and 0 <= argument <= count):
            raise ValueError(f"{opcode.name} names memo entry {argument!r:.20} after {count} opcodes")
    file.seek(start)
    return _plain(_DataUnpickler(file, encoding="latin1").load())


class _Array:
    """What ``_reconstruct`` makes: a stand-in whose ``__setstate__`` (the pickle's BUILD) builds the array."""

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
            raise ValueError(f"an array's state is not NumPy's (version 1, shape, dtype, order, data): {state!r:.80}")
        _, shape, dtype, fortran, data = state
        self.array = _array(data, _dtype(dtype), _shape(shape), fortran)


class _Dtype:
    """What ``dtype(spec, align, copy)`` makes (:func:`_make_dtype`): a fresh dtype of a plain spec, its state
    (the byte order only) checked."""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 8 and state[0] == 3 and state[1] in ("<", ">", "|", "=")
                and state[2:5] == (None, None, None) and state[5] in (-1, self.dtype.itemsize)):
            raise ValueError(f"the state of dtype {self.dtype} is not a plain dtype's: {state!r:.80}")
        if state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


class _NdarrayName:
    """What the pickle's ``numpy.ndarray`` stands for: a name that only :func:`_reconstruct` accepts (the real
    class would let a pickle call ``ndarray(...)`` and NumPy's ``__setstate__``)."""

    __slots__ = ()


def _make_dtype(spec, align=False, copy=True) -> _Dtype:
    if not (isinstance(spec, str) and _DTYPE_SPEC.fullmatch(spec)):
        raise ValueError(f"dtype {spec!r:.40} is not a plain number, string or object dtype")
    return _Dtype(np.dtype(spec))


def _reconstruct(cls, shape, typecode):
    if cls is not _NdarrayName:
        raise ValueError(f"an array of class {cls!r:.40}, not numpy.ndarray")
    return _Array()


def _frombuffer(buffer, dtype, shape, order):
    """Protocol 5's arrays: ``buffer`` (bytes or bytearray, copied) as an array of ``dtype`` and ``shape``."""
    if order not in ("C", "F"):
        raise ValueError(f"an array of order {order!r:.20}")
    return _array(buffer, _dtype(dtype), _shape(shape), order == "F")


def _scalar(dtype, data):
    dtype = _dtype(dtype)
    if dtype.hasobject or not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise ValueError(f"a {dtype} scalar needs {dtype.itemsize} bytes, got "
                         f"{len(data) if isinstance(data, bytes) else type(data).__name__}")
    return np.frombuffer(data, dtype=dtype)[0]


def _encode(text, encoding="utf-8"):
    """Protocol 2's byte strings: ``_codecs.encode(text, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ValueError(f"_codecs.encode of {type(text).__name__} to {encoding!r:.20}")
    return text.encode("latin1")


def _bytes(*arguments):
    """Protocol 2's empty byte string: ``bytes()``."""
    if arguments:
        raise ValueError(f"bytes{arguments!r:.40}: only the empty bytes() is data")
    return b""


def _dtype(dtype) -> np.dtype:
    if not isinstance(dtype, _Dtype):
        raise ValueError(f"an array's dtype is {type(dtype).__name__}, not a dtype")
    return dtype.dtype


def _shape(shape) -> tuple[int, ...]:
    if not (isinstance(shape, tuple) and len(shape) <= 32 and all(type(n) is int and n >= 0 for n in shape)):
        raise ValueError(f"an array's shape is {shape!r:.60}, not a tuple of sizes")
    return shape


def _array(data, dtype: np.dtype, shape: tuple[int, ...], fortran) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` from exactly its entries (object dtype: a list) or bytes."""
    size, order = math.prod(shape), "F" if fortran else "C"
    if not isinstance(fortran, bool):
        raise ValueError(f"an array's order flag is {fortran!r:.20}")
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != size:
            raise ValueError(f"an object array of shape {shape} needs a list of {size} entries, got "
                             f"{type(data).__name__} of {len(data) if isinstance(data, list) else '?'}")
        array = np.empty(size, dtype=object)
        for index, entry in enumerate(data):
            array[index] = _plain(entry)
        return array.reshape(shape, order=order)
    if not isinstance(data, (bytes, bytearray)) or len(data) != size * dtype.itemsize:
        raise ValueError(f"an array of shape {shape} and dtype {dtype} needs {size * dtype.itemsize} bytes, got "
                         f"{type(data).__name__} of {len(data) if isinstance(data, (bytes, bytearray)) else '?'}")
    return np.frombuffer(bytes(data), dtype=dtype).reshape(shape, order=order).copy()


def _plain(value):
    """``value`` with the stand-ins replaced by what they built (inside lists, tuples and dicts too)."""
    if isinstance(value, _Array):
        if value.array is None:
            raise ValueError("an array without its state")
        return value.array
    if isinstance(value, _Dtype):
        return value.dtype
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    return value


_STAND_INS = {
    "_reconstruct": _reconstruct, "_frombuffer": _frombuffer, "scalar": _scalar, "ndarray": _NdarrayName,
    "dtype": _make_dtype, "encode": _encode, "bytes": _bytes,
}
_ALLOWED = {(module, name): _STAND_INS[name] for modules, name in (
    (("numpy.core.multiarray", "numpy._core.multiarray"), "_reconstruct"),
    (("numpy.core.numeric", "numpy._core.numeric"), "_frombuffer"),
    (("numpy.core.multiarray", "numpy._core.multiarray"), "scalar"),
    (("numpy",), "ndarray"),
    (("numpy",), "dtype"),
    (("_codecs",), "encode"),
    (("__builtin__", "builtins"), "bytes"),
) for module in modules}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a data file has no use for")
        return _ALLOWED[(module, name)]
