"""ptal's ops in PyTorch's dispatcher, namespace ``ptal`` (``torch.ops.ptal.<name>``)."""
import torch

_LIBRARY = torch.library.Library("ptal", "DEF")


def registered(function):
    """Define the op ``ptal::<name>`` (``function``'s name without its leading underscore), with the schema of
    ``function``'s type hints, implemented by ``function`` on every device. Returns the op (an OpOverload), to
    which ``torch.library.register_fake`` and ``register_autograd`` add the rest.

    (``torch.library.custom_op`` does the same, but its first call imports ``torch._dynamo``: a second.)"""
    name = function.__name__.lstrip("_")
    _LIBRARY.define(name + torch.library.infer_schema(function, mutates_args=()))
    _LIBRARY.impl(name, function, "CompositeExplicitAutograd")
    return getattr(torch.ops.ptal, name).default
