"""Bridge to `medvlseg.io` (reading images and manifests), with a nibabel/JSON fallback.

`medvlseg.io` is the project's I/O contract (docs/architecture.md); it is written in parallel with this
package. Until it is importable, NIfTI files are read with nibabel's `as_closest_canonical` (the same RAS+
convention) and manifests are parsed from their JSON; once it lands, it is used for every format it supports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medvlseg.errors import InputError

SPLITS = ("training", "validation", "test")


@dataclass
class SimpleVolume:
    """Canonical RAS+ voxel array with its affine (voxel→world mm) and spacing (mm)."""

    array: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]
    source: Any = None


@dataclass
class SimpleCase:
    """One manifest entry: name, split, image/label paths, annotated side, free-form meta."""

    name: str
    split: str
    image: Path
    label: Path | None
    annotated: str = "both"
    meta: dict = field(default_factory=dict)


def read_volume(path: str | Path) -> Any:
    """Read an image as a canonical RAS+ volume (`.array`, `.affine`, `.spacing` in mm)."""
    try:
        from medvlseg.io import read_image
    except ImportError:
        return _read_nifti(Path(path))
    return read_image(path)


def _read_nifti(path: Path) -> SimpleVolume:
    """nibabel fallback: NIfTI only, reoriented to the closest canonical (RAS+) voxel order."""
    import nibabel as nib

    if not path.exists():
        raise InputError(path, "file not found")
    try:
        img = nib.as_closest_canonical(nib.load(str(path)))
        array = np.asarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise InputError(path, f"cannot read image ({exc})") from exc
    if array.ndim != 3:
        raise InputError(path, f"expected a 3-D image, got shape {array.shape}")
    spacing = tuple(float(z) for z in img.header.get_zooms()[:3])
    return SimpleVolume(array, np.asarray(img.affine, dtype=np.float64), spacing)  # type: ignore[arg-type]


def load_cases(manifest: str | Path) -> list[Any]:
    """All cases of a manifest (objects with .name, .split, .image, .label, .annotated, .meta)."""
    try:
        from medvlseg.io.manifest import Manifest
    except ImportError:
        return _load_cases_json(Path(manifest))
    return list(Manifest.load(manifest).cases)


def _load_cases_json(path: Path) -> list[SimpleCase]:
    """JSON fallback for the Decathlon-style manifest of docs/architecture.md."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(path, "manifest not found") from exc
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read manifest ({exc})") from exc
    cases = []
    for split in SPLITS:
        for entry in data.get(split, []) or []:
            if not isinstance(entry, dict) or "image" not in entry:
                raise InputError(path, f"{split} entry without an 'image': {entry!r}")
            name = entry.get("case") or Path(entry["image"]).name.split(".")[0]
            label = path.parent / entry["label"] if entry.get("label") else None
            cases.append(SimpleCase(name, split, path.parent / entry["image"], label,
                                    entry.get("annotated", "both"), entry.get("meta", {})))
    return cases
