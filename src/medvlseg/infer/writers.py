"""Label maps and their side files: JSON label names, 3D Slicer colour table (.ctbl), ITK-SNAP label description
(.txt); `write_label_map` writes `*.seg.nrrd` outputs as named, coloured 3D Slicer segmentations.

Hand-written: the two text formats are tiny and no installed library writes them. Colours: arteries red,
veins blue (left/right in two shades); free-text prompt labels get distinct colours from a fixed palette.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medvlseg.io import Volume, write_image
from medvlseg.io.segnrrd import is_seg_nrrd, write_seg_nrrd
from medvlseg.utils.atomic import write_json, write_text

RGB = tuple[int, int, int]
_PALETTE: tuple[RGB, ...] = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                             (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190), (0, 128, 128))


def colour_for(name: str, index: int) -> RGB:
    """Colour of a label by name: arteries red, veins blue (right side darker), otherwise a palette entry."""
    lower = name.lower()
    right = "right" in lower
    if "arter" in lower:
        return (180, 0, 0) if right else (230, 40, 40)
    if "vein" in lower or "venous" in lower:
        return (0, 60, 200) if right else (40, 120, 255)
    return _PALETTE[index % len(_PALETTE)]


def label_table(names: Sequence[str]) -> list[dict]:
    """[{value, name, color}] for background + each foreground name (values 1..N in order)."""
    rows = [{"value": 0, "name": "background", "color": [0, 0, 0]}]
    for i, name in enumerate(names):
        rows.append({"value": i + 1, "name": name, "color": list(colour_for(name, i))})
    return rows


def sidecar_paths(label_path: str | Path) -> dict[str, Path]:
    """Paths of the side files of a label map `<stem>.nii.gz`: `<stem>.json`, `<stem>.ctbl`, `<stem>.itksnap.txt`."""
    label_path = Path(label_path)
    name = label_path.name
    for ext in (".nii.gz", ".nii", ".seg.nrrd", ".nrrd", ".nhdr", ".mha", ".mhd"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    base = label_path.parent / name
    return {"json": base.with_name(name + ".json"), "ctbl": base.with_name(name + ".ctbl"),
            "itksnap": base.with_name(name + ".itksnap.txt")}


def slicer_ctbl(names: Sequence[str]) -> str:
    """3D Slicer colour table text: `value name R G B A` lines after a header comment."""
    lines = ["# Color table file (medvlseg)", f"# {len(names) + 1} values"]
    for row in label_table(names):
        r, g, b = row["color"]
        lines.append(f"{row['value']} {row['name'].replace(' ', '_')} {r} {g} {b} {0 if row['value'] == 0 else 255}")
    return "\n".join(lines) + "\n"


def itksnap_labels(names: Sequence[str]) -> str:
    """ITK-SNAP label description text: `IDX R G B A VIS MSH "LABEL"` lines."""
    lines = ["# ITK-SnAP Label Description File (medvlseg)",
             "# Columns: IDX -R- -G- -B- -A-- VIS MSH LABEL"]
    for row in label_table(names):
        r, g, b = row["color"]
        alpha, vis = (0, 0) if row["value"] == 0 else (1, 1)
        label = "Clear Label" if row["value"] == 0 else row["name"].replace('"', "'")
        lines.append(f"{row['value']:5d} {r:5d} {g:5d} {b:5d} {alpha:8d} {vis:2d} {vis:2d}    \"{label}\"")
    return "\n".join(lines) + "\n"


def write_label_sidecars(label_path: str | Path, names: Sequence[str], extra: dict | None = None) -> dict[str, Path]:
    """Write the JSON label names, Slicer .ctbl and ITK-SNAP .txt beside `label_path` (atomically)."""
    paths = sidecar_paths(label_path)
    meta = {"labels": {str(r["value"]): r["name"] for r in label_table(names)},
            "colors": {str(r["value"]): r["color"] for r in label_table(names)}}
    if extra:
        meta.update(extra)
    write_json(paths["json"], meta)
    write_text(paths["ctbl"], slicer_ctbl(names))
    write_text(paths["itksnap"], itksnap_labels(names))
    return paths


def write_label_map(path: str | Path, labels: np.ndarray, like: Volume, names: Sequence[str]) -> Path:
    """Write a canonical label map in `like`'s geometry: a named, coloured Slicer segmentation for `*.seg.nrrd`."""
    if is_seg_nrrd(path):
        rows = label_table(names)[1:]
        return write_seg_nrrd(path, labels, like.source, [(r["value"], r["name"], tuple(r["color"])) for r in rows])
    return write_image(path, labels, like=like, dtype=np.uint8)
