"""Run configurations: typed defaults in code (nested dataclasses, one per section), an optional YAML
file over them, then ``key=value`` overrides.

Every key has a default, so the defaults also define what a valid key is: an unknown key, or a value
whose type does not fit its default, is an error that names the key and where it came from; each
section's ``__post_init__`` then checks ranges.
"""
from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from os import PathLike

import yaml


class ConfigError(ValueError):
    """A configuration file or override that does not fit the defaults."""


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, reading ``1e-4`` as a float (YAML 1.1 wants a dot in it, ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_config(path: str | PathLike | None, overrides: list[str], defaults: dict) -> dict:
    """The configuration: ``defaults``, then the YAML file at ``path`` (optional) over them, then the
    ``key=value`` ``overrides`` in order.

    Override values are parsed as YAML (``lr=3e-4``, ``amp=true``, ``betas=[0.9,0.99]``); a string-valued
    key takes the text after ``=`` as it is. Dotted keys reach into nested sections (``train.lr=3e-4``).
    A value must fit its default: an int or float where the default is a float, a bool for a bool, a
    list for a list, a list of the same length for a tuple (elements checked one by one), a mapping for
    a section; a default of None accepts anything.

    Returns:
        A new nested dict with the same keys as ``defaults``; ``defaults`` is not modified.

    Raises:
        ConfigError: unreadable or malformed file, malformed override, unknown key, value of the wrong
            type. The message names the key and the file or override.
    """
    config = copy.deepcopy(defaults)
    if path is not None:
        document = _read_yaml_file(path)
        _merge(config, document, source=f"config file {path}", prefix="")
    for override in overrides:
        _apply_override(config, override)
    return config


def _read_yaml_file(path: str | PathLike) -> dict:
    try:
        with open(path, encoding="utf-8") as file:
            document = yaml.load(file, Loader=_Loader)
    except OSError as error:
        raise ConfigError(f"config file {path}: cannot read it ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path}: not valid YAML: {error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {path}: not UTF-8 text ({error})") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError(f"config file {path}: expected a mapping of keys to values at the top level, "
                          f"got {type(document).__name__}")
    return document


def _apply_override(config: dict, override: str) -> None:
    source = f"override {override!r}"
    key, equals, text = override.partition("=")
    if not equals or not key.strip():
        raise ConfigError(f"{source}: expected key=value (e.g. train.lr=3e-4)")
    *section_names, name = key.strip().split(".")
    section, prefix = config, ""
    for section_name in section_names:
        if section_name not in section:
            raise ConfigError(f"{source}: unknown key {prefix + section_name!r}{_known(section)}")
        if not isinstance(section[section_name], dict):
            raise ConfigError(f"{source}: {prefix + section_name!r} is a value, not a section")
        section, prefix = section[section_name], f"{prefix}{section_name}."
    try:
        value = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: the value is not valid YAML: {error}") from error
    if isinstance(section.get(name), str) and not isinstance(value, str):
        value = text
    _merge(section, {name: value}, source=source, prefix=prefix)


def _merge(target: dict, updates: Mapping, *, source: str, prefix: str) -> None:
    """Set ``updates`` into ``target`` in place, recursing into sections; ``prefix`` is the dotted path of
    ``target`` for messages."""
    for name, value in updates.items():
        key = f"{prefix}{name}"
        if name not in target:
            raise ConfigError(f"{source}: unknown key {key!r}{_known(target)}")
        if isinstance(target[name], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {key!r} is a section; give it a mapping or set its keys "
                                  f"(e.g. {key}.{next(iter(target[name]), 'name')}=...), got {value!r}")
            _merge(target[name], value, source=source, prefix=f"{key}.")
        else:
            target[name] = _fitted(value, target[name], key=key, source=source)


def _fitted(value, default, *, key: str, source: str):
    """``value`` converted to the type of ``default`` where that is lossless (int to float, list to
    tuple); a ConfigError when it does not fit."""
    if default is None:
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, (int, float)):
        if isinstance(value, int) and abs(value) > _LARGEST_FLOAT:
            raise ConfigError(f"{source}: {key!r} must be a number a float can hold, got {value!r:.40}")
        return float(value)
    elif isinstance(default, int) and isinstance(value, int) and not _fits(value, int):
        raise ConfigError(f"{source}: {key!r} must be an integer a 64-bit int can hold, got {value!r:.40}")
    elif isinstance(default, tuple) and isinstance(value, (list, tuple)):
        if len(value) != len(default):
            raise ConfigError(f"{source}: {key!r} needs {len(default)} values like {list(default)!r}, "
                              f"got {len(value)}: {value!r}")
        return tuple(_fitted(item, item_default, key=f"{key}[{index}]", source=source)
                     for index, (item, item_default) in enumerate(zip(value, default)))
    elif isinstance(default, list) and isinstance(value, (list, tuple)):
        return list(value)
    elif isinstance(value, type(default)):
        return value
    raise ConfigError(f"{source}: {key!r} must be {_type_phrase(default)} like its default {default!r}, "
                      f"got {value!r}")


def _type_phrase(default) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, (list, tuple)):
        return "a list"
    return f"a {type(default).__name__}"


def _known(section: dict) -> str:
    return f" (known keys: {', '.join(map(str, section))})" if section else " (this section has no keys)"


def config_to_dict(config) -> dict:
    """A (nested) config dataclass as a plain nested dict: what checkpoints store and YAML shows."""
    return dataclasses.asdict(config)


def config_from_dict(config_class: type, values: Mapping, *, source: str = "config", prefix: str = ""):
    """The ``config_class`` instance of a nested dict shaped like :func:`config_to_dict`'s: sections (fields
    whose type is a dataclass) recurse, every other value is taken as it is (:func:`load_typed_config` has
    checked its type); a missing key keeps its default. The dataclasses' ``__post_init__`` check ranges.

    Raises:
        ConfigError: an unknown key, or a value a section's ``__post_init__`` refuses.
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'the config'} must be a section of keys, "
                          f"got {values!r:.40}")
    hints = typing.get_type_hints(config_class)
    fields = [field.name for field in dataclasses.fields(config_class)]
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"{source}: unknown key {prefix + sorted(unknown)[0]!r} (known keys: {', '.join(fields)})")
    arguments = {}
    for name, value in values.items():
        if dataclasses.is_dataclass(hints[name]):
            value = config_from_dict(hints[name], value, source=source, prefix=f"{prefix}{name}.")
        elif _scalar_kinds(hints[name]) and not (value is None and _optional(hints[name])) and \
                not any(_fits(value, kind) for kind in _scalar_kinds(hints[name])):
            expected = " or ".join(_SCALARS[kind] for kind in _scalar_kinds(hints[name]))
            raise ConfigError(f"{source}: {prefix}{name!s} must be {expected}"
                              f"{' or null' if _optional(hints[name]) else ''}, got {value!r:.60}")
        elif typing.get_origin(hints[name]) in (list, tuple) and not _fits_sequence(value, hints[name]):
            raise ConfigError(f"{source}: {prefix}{name!s} must be a list like its default, got {value!r:.60}")
        arguments[name] = _with_floats(value, hints[name])
    try:
        return config_class(**arguments)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {error}") from error


_SCALARS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_LARGEST_FLOAT = 1.7976931348623157e308
_INT64 = (-2**63, 2**63 - 1)  # what the tensors and arrays an integer setting reaches can hold


def _scalar_kinds(hint) -> tuple:
    """The scalar types a field takes: ``(int,)`` for ``int``, ``(str,)`` for ``str | None``; () for others."""
    kinds = tuple(kind for kind in (typing.get_args(hint) if _is_union(hint) else (hint,)) if kind is not type(None))
    return kinds if kinds and all(kind in _SCALARS for kind in kinds) else ()


def _optional(hint) -> bool:
    return _is_union(hint) and type(None) in typing.get_args(hint)


def _is_union(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _fits(value, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, float) or isinstance(value, int) and abs(value) <= _LARGEST_FLOAT
    if kind is int:
        return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]
    return isinstance(value, kind)


def _with_floats(value, hint):
    """``value`` (checked against ``hint``) with each whole number a float where ``hint`` declares a float (a number
    setting, or one item of a list or tuple of them), as :func:`load_typed_config` makes it."""
    kinds = _scalar_kinds(hint)
    if kinds:
        return float(value) if float in kinds and int not in kinds and type(value) is int else value
    if typing.get_origin(hint) in (list, tuple) and isinstance(value, (list, tuple)):
        item_hints = typing.get_args(hint)
        if len(item_hints) == 2 and item_hints[1] is Ellipsis or typing.get_origin(hint) is list:
            item_hints = item_hints[:1] * len(value)
        return type(value)(_with_floats(item, item_hint) for item, item_hint in zip(value, item_hints))
    return value


def _fits_sequence(value, hint) -> bool:
    """Whether ``value`` is a list or tuple fitting ``list[X]``, ``tuple[X, ...]`` or ``tuple[X, Y]`` (of scalars)."""
    if not isinstance(value, (list, tuple)):
        return False
    kinds = typing.get_args(hint)
    if len(kinds) == 2 and kinds[1] is Ellipsis or typing.get_origin(hint) is list:
        kinds = kinds[:1] * len(value)
    return len(kinds) == len(value) and all(kind not in _SCALARS or _fits(item, kind) for item, kind in zip(value, kinds))


def load_typed_config(defaults, path: str | PathLike | None = None, overrides: list[str] = ()):
    """A config dataclass like ``defaults`` (an instance, all sections filled): ``defaults``, then the YAML
    file at ``path``, then the ``key=value`` ``overrides`` (:func:`load_config`'s rules), then every
    section's own checks."""
    merged = load_config(path, list(overrides), config_to_dict(defaults))
    source = f"config file {path}" if path is not None else "config"
    return config_from_dict(type(defaults), merged, source=source)


def config_yaml(config) -> str:
    """A config dataclass as YAML (every key, in field order)."""
    def plain(value):
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value
    return yaml.safe_dump(plain(config_to_dict(config)), sort_keys=False)
