"""The model families by name, and how a run's method is configured and built."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml

from ptal.data.datasets import THUMOS14, dataset_spec
from ptal.models.apn.method import ApnMethod
from ptal.models.base import VideoMethod
from ptal.models.lacp.method import LacpMethod
from ptal.train import load_typed_config, seed_everything

FAMILIES: dict[str, type[VideoMethod]] = {"lacp": LacpMethod, "apn": ApnMethod}


def method_class(name: str) -> type[VideoMethod]:
    """The method class of a family name (``model.name``)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model.name {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def method_config(config_path: str | None = None, overrides: list[str] = (), default_model: str = "lacp"):
    """The typed configuration of a run: the defaults of the family ``model.name`` names (in the overrides,
    else the YAML file, else ``default_model``) on the dataset ``data.dataset`` names (found alike, else
    THUMOS14), then the file, then the ``key=value`` overrides (``data=PATH`` is short for
    ``data.source=PATH``)."""
    overrides = expanded_overrides(overrides)
    name, source = _named(config_path, overrides, "model", "name", default_model)
    try:
        family = method_class(name)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    dataset, source = _named(config_path, overrides, "data", "dataset", THUMOS14.name)
    try:
        spec = dataset_spec(dataset)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    return load_typed_config(dataset_defaults(family, spec.name), config_path, overrides)


def dataset_defaults(family: type[VideoMethod], dataset: str):
    """The family's defaults on a dataset: its ``data`` section resolved for the dataset (evaluated split,
    points), then the model settings the dataset changes (``DatasetSpec.settings``)."""
    defaults = family.config_class()
    defaults.data = type(defaults.data)(dataset=dataset)
    return load_typed_config(defaults, None, dataset_spec(dataset).config_overrides(family.name))


def build_method(config, device: str | torch.device = "cpu") -> VideoMethod:
    """A freshly initialised method of ``config``'s family: every generator seeded with ``train.seed``
    first, so that the initial weights and the whole run follow from the seed."""
    seed_everything(config.train.seed)
    return method_class(config.model.name)(config, device)


def expanded_overrides(overrides) -> list[str]:
    """``data=PATH|synthetic`` is short for ``data.source=...``."""
    return [f"data.source={o.split('=', 1)[1]}" if o.startswith("data=") else o for o in overrides]


def _named(config_path: str | None, overrides: list[str], section: str, key: str, default: str) -> tuple[str, str]:
    """The value of ``section.key`` in the overrides (the last), else the YAML file, else ``default``; and where
    it comes from (for messages)."""
    for override in reversed(overrides):
        if override.startswith(f"{section}.{key}="):
            return override.split("=", 1)[1], f"override {override!r}"
    if config_path is not None:
        try:
            document = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            document = None  # load_typed_config reports it
        found = document.get(section) if isinstance(document, dict) else None
        value = found.get(key) if isinstance(found, dict) else None  # another shape: load_typed_config reports it
        if isinstance(value, str):
            return value, f"config file {config_path}"
    return default, "default"
