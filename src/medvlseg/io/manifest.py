"""Dataset manifest: a Medical-Segmentation-Decathlon-style JSON file listing cases per split (docs/architecture.md).

Paths in the file are relative to the manifest's folder; `Case.image` / `Case.label` are resolved absolute paths.
Unknown top-level keys are kept (`Manifest.extra`) and written back by `save`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medvlseg.errors import InputError
from medvlseg.io.checks import check_case_name
from medvlseg.utils.atomic import write_json

SPLITS = ("training", "validation", "test")
SIDES = ("both", "left", "right")
DEFAULT_LABELS = {"0": "background", "1": "pulmonary artery", "2": "pulmonary vein"}
_CASE_KEYS = {"case", "image", "label", "annotated", "meta"}
_TOP_KEYS = {"name", "description", "version", "labels", "modality", *SPLITS}


@dataclass
class Case:
    """One case: name, split, resolved image/label paths, annotated side ("both"/"left"/"right"), free meta."""

    name: str
    split: str
    image: Path
    label: Path | None = None
    annotated: str = "both"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    """A dataset: cases in splits training/validation/test, label names, and the manifest's own path."""

    cases: list[Case] = field(default_factory=list)
    name: str = "dataset"
    description: str = ""
    version: int = 1
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    modality: str = "CT"
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """Folder that relative paths resolve against (the manifest's folder, or the working directory)."""
        return self.path.parent if self.path is not None else Path.cwd()

    def split(self, name: str) -> list[Case]:
        """Cases of one split ("training", "validation" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
        return [c for c in self.cases if c.split == name]

    def case(self, name: str) -> Case:
        """The case called `name` (KeyError if absent)."""
        for c in self.cases:
            if c.name == name:
                return c
        raise KeyError(name)

    def relative(self, path: Path) -> str:
        """`path` relative to the manifest folder when possible (POSIX separators), for display and saving."""
        try:
            return Path(os.path.relpath(path, self.root)).as_posix()
        except ValueError:  # different drive (Windows)
            return Path(path).as_posix()

    @classmethod
    def load(cls, path: str | Path, allow_outside: bool = False) -> Manifest:
        """Parse and check a manifest JSON file; InputError names the manifest and the offending entry.

        Image/label paths must stay inside the manifest's folder unless `allow_outside` (or the CLI's
        --allow-outside-paths) is given.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "manifest not found" if not path.exists() else "manifest is not a file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(path, f"cannot read manifest: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError(path, f"manifest must be a JSON object, got {type(data).__name__}")
        manifest = cls(path=path.absolute(), extra={k: v for k, v in data.items() if k not in _TOP_KEYS})
        _parse_header(manifest, data, path)
        seen: dict[str, str] = {}
        for split in SPLITS:
            entries = data.get(split) or []
            if not isinstance(entries, list):
                raise InputError(path, f"'{split}' must be a list of cases, got {type(entries).__name__}")
            for i, entry in enumerate(entries):
                case = _parse_case(entry, split, i, manifest.root, path, allow_outside)
                if case.name in seen:
                    raise InputError(path, f"{split}[{i}]: duplicate case name '{case.name}' "
                                           f"(already in {seen[case.name]})")
                seen[case.name] = split
                manifest.cases.append(case)
        return manifest

    def to_dict(self) -> dict[str, Any]:
        """JSON form, paths relative to the manifest folder."""
        out: dict[str, Any] = {"name": self.name, "description": self.description, "version": self.version,
                               "labels": dict(self.labels), "modality": self.modality, **self.extra}
        for split in SPLITS:
            out[split] = []
            for c in self.split(split):
                entry: dict[str, Any] = {"case": c.name, "image": self.relative(c.image)}
                if c.label is not None:
                    entry["label"] = self.relative(c.label)
                entry["annotated"] = c.annotated
                entry["meta"] = dict(c.meta)
                out[split].append(entry)
        return out

    def save(self, path: str | Path | None = None) -> Path:
        """Write the manifest atomically (to `path`, which becomes the new root, or to `self.path`)."""
        if path is not None:
            self.path = Path(path).absolute()
        if self.path is None:
            raise ValueError("Manifest.save needs a path")
        write_json(self.path, self.to_dict())
        return self.path


def _parse_header(manifest: Manifest, data: dict, path: Path) -> None:
    """Fill name/description/version/labels/modality from the top-level JSON object, checking types."""
    for key, typ, noun in (("name", str, "a string"), ("description", str, "a string"),
                           ("modality", str, "a string"), ("version", int, "an integer")):
        if key in data:
            if not isinstance(data[key], typ) or isinstance(data[key], bool):
                raise InputError(path, f"'{key}' must be {noun}, got {data[key]!r}")
            setattr(manifest, key, data[key])
    if "labels" in data:
        labels = data["labels"]
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise InputError(path, f"'labels' must map label values to names, got {labels!r}")
        manifest.labels = {str(k): v for k, v in labels.items()}


def _parse_case(entry: Any, split: str, index: int, root: Path, path: Path, allow_outside: bool = False) -> Case:
    """One split entry → Case; InputError naming `split[index]` (and the case name when known)."""
    where = f"{split}[{index}]"
    if not isinstance(entry, dict):
        raise InputError(path, f"{where}: a case must be a JSON object, got {entry!r}")
    if isinstance(entry.get("case"), str) and entry["case"]:
        where = f"{where} ('{entry['case']}')"
    unknown = sorted(set(entry) - _CASE_KEYS)
    if unknown:
        raise InputError(path, f"{where}: unknown key(s) {', '.join(unknown)} "
                               f"(allowed: {', '.join(sorted(_CASE_KEYS))})")
    image = entry.get("image")
    if not isinstance(image, str) or not image:
        raise InputError(path, f"{where}: 'image' must be a non-empty path string, got {image!r}")
    label = entry.get("label")
    if label is not None and (not isinstance(label, str) or not label):
        raise InputError(path, f"{where}: 'label' must be a path string or absent, got {label!r}")
    annotated = entry.get("annotated", "both")
    if annotated not in SIDES:
        raise InputError(path, f"{where}: 'annotated' must be one of {', '.join(SIDES)}, got {annotated!r}")
    if label is None and "annotated" in entry and annotated != "both":
        raise InputError(path, f"{where}: 'annotated' is {annotated!r} but the case has no label")
    meta = entry.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError(path, f"{where}: 'meta' must be a JSON object, got {meta!r}")
    name = entry.get("case")
    if name is None:
        from medvlseg.io.image import case_name

        name = case_name(image)
    if not isinstance(name, str):
        raise InputError(path, f"{where}: 'case' must be a string, got {name!r}")
    check_case_name(name, f"{path}: {where}")
    for key, rel in (("image", image), ("label", label)):
        if rel is not None and not (allow_outside or _OUTSIDE_ALLOWED or inside(root, rel)):
            raise InputError(path, f"{where}: '{key}' path {rel!r} leaves the dataset folder (absolute or '..'); "
                                   "pass --allow-outside-paths if that is intended")
    return Case(name, split, root / image, root / label if label else None, annotated, dict(meta))


_OUTSIDE_ALLOWED = False  # set once by the CLI flag --allow-outside-paths (`allow_outside_paths`)


def allow_outside_paths(allowed: bool) -> None:
    """Let manifest image/label paths point outside the manifest's folder (the CLI's --allow-outside-paths)."""
    global _OUTSIDE_ALLOWED
    _OUTSIDE_ALLOWED = bool(allowed)


def inside(root: Path, rel: str) -> bool:
    """True when the manifest path `rel` stays inside `root` lexically (relative, no climbing out with '..')."""
    if Path(rel).is_absolute():
        return False
    base = os.path.normpath(str(root.absolute()))
    full = os.path.normpath(os.path.join(base, rel))
    return full == base or full.startswith(base.rstrip(os.sep) + os.sep)
