"""The model families of ptal, LACP and APN: each a :class:`~ptal.models.base.VideoMethod` with a typed
config (:mod:`ptal.models.lacp.config`, :mod:`ptal.models.apn.config`).

    config = method_config("configs/apn_thumos14.yaml", ["data.feature_dim=256", "train.iterations=600"])
    method = build_method(config, "cpu")            # seeds every generator with train.seed, then builds
    summary = ptal.train.train(method, config.train, config=ptal.train.config_to_dict(config))
"""
from __future__ import annotations

from ptal.models.apn.config import ApnConfig
from ptal.models.apn.method import ApnMethod
from ptal.models.base import VideoMethod
from ptal.models.lacp.config import LacpConfig
from ptal.models.lacp.method import LacpMethod
from ptal.models.registry import FAMILIES, build_method, method_class, method_config

__all__ = ["FAMILIES", "ApnConfig", "ApnMethod", "LacpConfig", "LacpMethod", "VideoMethod", "build_method",
           "method_class", "method_config"]
