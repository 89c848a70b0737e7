"""Anatomical descriptions as prompts (Med-VLM, seed 003): three levels per structure — none, simple, complex.

The data live in a YAML file (`medvlseg/resources/descriptions.yaml` by default; a user file with the same layout
extends or replaces it): `structures: {name: {simple: ..., complex: ...}}`. Level "none" is the empty prompt,
"simple" the structure's name, "complex" the description of its location and relations.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import yaml

from medvlseg.errors import ConfigError, InputError

LEVELS = ("none", "simple", "complex")
DEFAULT_FILE = "descriptions.yaml"


def load_descriptions(path: str | Path | None = None) -> dict[str, dict[str, str]]:
    """Structure name (lower case) → {"simple": ..., "complex": ...}; the packaged file when `path` is empty."""
    if path:
        source = Path(path).expanduser()
        if not source.is_file():
            raise InputError(source, "descriptions file not found")
        text = source.read_text(encoding="utf-8")
    else:
        source = Path(str(resources.files("medvlseg") / "resources" / DEFAULT_FILE))
        text = source.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(source, f"not valid YAML: {exc}") from exc
    table = data.get("structures") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        raise InputError(source, "expected a mapping 'structures: {name: {simple: ..., complex: ...}}'")
    out: dict[str, dict[str, str]] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("complex", ""), str):
            raise InputError(source, f"structure {name!r}: expected a mapping with text 'simple'/'complex'")
        key = str(name).strip().lower()
        out[key] = {"simple": str(entry.get("simple") or name).strip(),
                    "complex": " ".join(str(entry.get("complex") or "").split())}
    return out


def describe(structures: Sequence[str], level: str, path: str | Path | None = None) -> list[str]:
    """One prompt per structure at `level` (none → "", simple → name, complex → description)."""
    if level not in LEVELS:
        raise ConfigError(f"description level must be one of {LEVELS}, got {level!r}")
    if isinstance(structures, str):
        raise ConfigError("structures must be a list of names, not one string")
    if level == "none":
        return ["" for _ in structures]
    table = load_descriptions(path)
    prompts = []
    for name in structures:
        entry = table.get(str(name).strip().lower())
        if entry is None or not entry[level]:
            where = path or f"medvlseg/resources/{DEFAULT_FILE}"
            raise InputError(where, f"no {level!r} description of {name!r} (known: {', '.join(sorted(table))})")
        prompts.append(entry[level])
    return prompts
