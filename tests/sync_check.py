"""On a CPU, the operations that would make the host wait for a GPU.

``torch.cuda.set_sync_debug_mode("error")`` finds hidden synchronisations only on a GPU. :class:`HiddenSyncs`
finds most of them on any device, by the operation asked for: a read of a tensor's value (``.item()``,
``float()``, ``bool()``, ``int()``), an output whose size depends on the values (``nonzero``, boolean-mask
indexing, ``masked_select``, ``unique``, ``bincount``, ``repeat_interleave`` without ``output_size``), a
ptal op with data-dependent output sizes (their GPU backends read the sizes) and a tensor made from host
data (``torch.tensor``, ``as_tensor``, ``from_numpy``, a Python list as an index: a synchronous copy to the
device). Host code in a step must therefore use Python numbers, not tensors, for what it reads, and build
tensors on the device. Other copies between host and device (``.tolist()``, ``.cpu()``, ``.to(device)``)
do not dispatch an operation on a CPU: the GPU test catches those. Operations inside
``ptal.train.explicit_sync`` are allowed, and so are torch.optim's reads of its host-side step counts.
"""
from __future__ import annotations

import contextlib
import dis
import os
import sys

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ptal.train.sync import in_explicit_sync

aten = torch.ops.aten
READS_VALUES = {aten._local_scalar_dense.default, aten.is_nonzero.default, aten.equal.default,
                aten.nonzero.default, aten.masked_select.default, aten.bincount.default,
                aten._unique.default, aten._unique2.default, aten.unique_dim.default,
                aten.unique_consecutive.default, aten.unique_dim_consecutive.default}
# A tensor made from host data (torch.tensor, as_tensor, from_numpy, a list as an index): on a GPU, a
# synchronous host-to-device copy. (A Python number assigned through an index, ``x[i] = 1``, is lifted the
# same way on a CPU, but made on the device by a GPU: allowed.)
FROM_HOST_DATA = {aten.lift_fresh.default, aten.lift_fresh_copy.default}
TORCH_DIRECTORY = os.path.dirname(torch.__file__)
OPTIMIZER_DIRECTORY = os.path.join(TORCH_DIRECTORY, "optim")
MASK_INDEXING = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default, aten._index_put_impl_.default}
# ptal ops whose output sizes depend on the values (their fake implementations allocate dynamic sizes).
PTAL_DATA_DEPENDENT = {"constrained_kmedoids", "generate_proposals", "soft_nms", "temporal_nms", "threshold_proposals"}


class HiddenSync(AssertionError):
    """An operation that would synchronise the host with a GPU, outside ``explicit_sync``."""


def _frames():
    """The Python frames that led to the operation, innermost first."""
    frame = sys._getframe(1)
    while frame is not None:
        yield frame
        frame = frame.f_back


def _python_instruction() -> str:
    """The instruction the innermost Python frame outside torch and this file is running."""
    frame = next(f for f in _frames()
                 if not (f.f_code.co_filename.startswith(TORCH_DIRECTORY) or f.f_code.co_filename == __file__))
    return [i.opname for i in dis.get_instructions(frame.f_code) if i.offset <= frame.f_lasti][-1]


def _in_optimizer() -> bool:
    """Inside torch.optim, whose step counts live on the host (``capturable=False``): reading or making them
    touches no device."""
    return any(f.f_code.co_filename.startswith(OPTIMIZER_DIRECTORY) for f in _frames())


def _synchronises(func, args, kwargs) -> bool:
    if func in READS_VALUES:
        return True
    if func in FROM_HOST_DATA:
        return not (args[0].dim() == 0 and _python_instruction() == "STORE_SUBSCR")
    if func is aten.repeat_interleave.Tensor or func is aten.repeat_interleave.self_Tensor:
        return kwargs.get("output_size") is None
    if func in MASK_INDEXING:
        indices = args[1] if len(args) > 1 else kwargs.get("indices", ())
        return any(index is not None and index.dtype in (torch.bool, torch.uint8) for index in indices)
    return func.namespace == "ptal" and func._opname in PTAL_DATA_DEPENDENT


class HiddenSyncs(TorchDispatchMode):
    """Raises :class:`HiddenSync` at the first operation that would synchronise with a GPU, outside
    ``explicit_sync``."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not in_explicit_sync() and _synchronises(func, args, kwargs) and not _in_optimizer():
            raise HiddenSync(f"{func} would synchronise the host with a GPU")
        return func(*args, **kwargs)


@contextlib.contextmanager
def hidden_syncs_raise():
    """Inside the block, an operation that would synchronise with a GPU raises :class:`HiddenSync`."""
    with HiddenSyncs():
        yield
