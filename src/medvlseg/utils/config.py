"""Dataclass configs: strict conversion from/to plain dicts, YAML and JSON files, dotted overrides."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from medvlseg.errors import ConfigError, InputError
from medvlseg.utils.atomic import write_text

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    """Convert a (nested) dataclass into plain dicts/lists/scalars suitable for YAML/JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Coerce a plain value to annotation `tp` (dataclasses, tuples, lists, Optional, scalars)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}: {value!r} fits none of {tp} ({'; '.join(errors)})")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        inner = args[0] if args else Any
        items = [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is bool and isinstance(value, bool):
        return value
    if tp is str and isinstance(value, str):
        return value
    if tp is Path and isinstance(value, (str, Path)):
        return Path(value)
    raise ConfigError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass `cls` from a dict, rejecting unknown keys and wrongly typed values."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def load(cls: type[T], path: str | Path) -> T:
    """Read dataclass `cls` from a YAML or JSON file (errors name the file)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InputError(path, f"cannot read config: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(path, "config must be a mapping at the top level")
    try:
        return from_dict(cls, data, where=path.name)
    except ConfigError as exc:
        raise InputError(path, str(exc)) from exc


def save(obj: Any, path: str | Path) -> None:
    """Write a dataclass as YAML (.yaml/.yml) or JSON (anything else), atomically."""
    path = Path(path)
    data = to_dict(obj)
    if path.suffix in (".yaml", ".yml"):
        write_text(path, yaml.safe_dump(data, sort_keys=False))
    else:
        write_text(path, json.dumps(data, indent=2) + "\n")


def override(obj: T, **changes: Any) -> T:
    """Return a copy of dataclass `obj` with dotted-path overrides applied; None values are skipped.

    Example: override(cfg, **{"model.preset": "unet", "epochs": 3}).
    """
    data = to_dict(obj)
    for dotted, value in changes.items():
        if value is None:
            continue
        node = data
        keys = dotted.split(".")
        for key in keys[:-1]:
            if key not in node or not isinstance(node[key], dict):
                raise ConfigError(f"override {dotted!r}: no section {key!r}")
            node = node[key]
        if keys[-1] not in node:
            raise ConfigError(f"override {dotted!r}: unknown key {keys[-1]!r}")
        node[keys[-1]] = to_dict(value)
    return from_dict(type(obj), data)
