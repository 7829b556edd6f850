"""The model families of ptal, LACP and APN: each a :class:`~ptal.models.base.VideoMethod` with a typed
config (:mod:`ptal.models.lacp.config`, :mod:`ptal.models.apn.config`)."""
from __future__ import annotations

from ptal.models.apn.config import ApnConfig
from ptal.models.apn.method import ApnMethod
from ptal.models.base import VideoMethod
from ptal.models.lacp.config import LacpConfig
from ptal.models.lacp.method import LacpMethod

FAMILIES: dict[str, type[VideoMethod]] = {"lacp": LacpMethod, "apn": ApnMethod}

__all__ = ["FAMILIES", "ApnConfig", "ApnMethod", "LacpConfig", "LacpMethod", "VideoMethod", "method_class"]


def method_class(name: str) -> type[VideoMethod]:
    """The method class of a family name (``model.name``)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model.name {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]
