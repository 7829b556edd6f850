"""NumPy and CuPy arrays through the ops: converted to torch tensors without a copy, results returned as
arrays of the same kind.

NumPy arrays become CPU tensors sharing their memory (``torch.from_numpy``); CuPy arrays become CUDA
tensors through DLPack, and the op runs on CuPy's current stream, so that no synchronisation is needed.
When torch tensors are among the inputs, the results are torch tensors (arrays are still accepted, e.g.
NumPy thresholds beside torch scores).
"""
from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np
import torch


def interop(op):
    """Decorate a public op so that it takes and returns NumPy or CuPy arrays as well as tensors."""
    parameters = list(inspect.signature(op).parameters)

    @functools.wraps(op)
    def call(*args, **kwargs):
        kind = _kind(args, kwargs)
        if kind == "torch":
            return op(*args, **kwargs)
        names = parameters[:len(args)]
        if kind == "numpy":
            args = tuple(_from_numpy(name, value) for name, value in zip(names, args))
            kwargs = {name: _from_numpy(name, value) for name, value in kwargs.items()}
            return _convert(op(*args, **kwargs), lambda tensor: tensor.numpy())
        import cupy

        with torch.cuda.stream(_cupy_stream(cupy)):  # the ops then run, and hand over, on CuPy's stream
            args = tuple(_from_cupy(name, value) for name, value in zip(names, args))
            kwargs = {name: _from_cupy(name, value) for name, value in kwargs.items()}
            return _convert(op(*args, **kwargs), cupy.from_dlpack)

    return call


def _kind(args, kwargs) -> str:
    """"torch" when any argument is a tensor or none is an array; else "cupy" or "numpy"."""
    kind = "torch"
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return "torch"
        if isinstance(value, np.ndarray):
            kind = "numpy" if kind == "torch" else kind
        elif _is_cupy(value):
            kind = "cupy"
    return kind


def _is_cupy(value) -> bool:
    return type(value).__module__.startswith("cupy")


def _from_numpy(name: str, value):
    if not isinstance(value, np.ndarray):
        return value
    try:
        if value.flags.writeable:
            return torch.from_numpy(value)
        with warnings.catch_warnings():  # the ops never write their inputs
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(value)
    except TypeError:
        raise TypeError(f"{name} has NumPy dtype {value.dtype}, which torch does not support") from None
    except ValueError:  # negative strides, which torch does not support: one copy
        return torch.from_numpy(np.ascontiguousarray(value))


def _from_cupy(name: str, value):
    if isinstance(value, np.ndarray):
        return _from_numpy(name, value)
    if not _is_cupy(value):
        return value
    try:
        return torch.from_dlpack(value)
    except (BufferError, RuntimeError, TypeError) as error:
        raise TypeError(f"{name}: this CuPy array cannot be shared with torch through DLPack ({error})") from None


def _cupy_stream(cupy) -> torch.cuda.Stream:
    """CuPy's current stream as a torch stream (its legacy default stream is torch's default stream)."""
    stream = cupy.cuda.get_current_stream()
    device = torch.device("cuda", cupy.cuda.Device().id)
    if stream.ptr == 0:
        return torch.cuda.default_stream(device)
    return torch.cuda.ExternalStream(stream.ptr, device=device)


def _convert(result, to_array):
    """The tensors of an op's result (a tensor, or a tuple or named tuple of them) as arrays."""
    if isinstance(result, torch.Tensor):
        return to_array(result)
    converted = [to_array(item) for item in result]
    return type(result)(*converted) if hasattr(result, "_fields") else type(result)(converted)
