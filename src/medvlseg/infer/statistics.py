"""Per-structure statistics of a label map on its CT (`predict --statistics`), in the spirit of TotalSegmentator's
`--statistics`: one JSON per case, one CSV per folder.

Per foreground class and per lung side ("all", "left", "right"), keys with their units in the name:
`volume_ml` (ml), `hu_mean` / `hu_median` (HU of the CT under the mask), `surface_area_mm2` (marching-cubes
surface, mm²), `n_components` (26-connected components), `skeleton_length_mm` (centre-line length, mm) and
`n_branch_points` (skeleton junctions); plus `artery_vein_volume_ratio` per side (arteries over veins, by name).
Empty structures give volume 0 and null for the HU and shape figures.

Sides: the lungs are found with `medvlseg.data.lungs.lung_map` and every vessel voxel takes the side of the
nearest lung voxel (mediastinal vessels included: the pulmonary trunk is split where it is equidistant). When no
two lungs can be found (e.g. a tight crop) the canonical mid-sagittal plane decides and the JSON says so
(`side_method: "midline"`, logged as a warning).

Libraries: scikit-image (marching cubes), cc3d (components), kimimaro (TEASAR centre lines in physical units:
`cable_length()` is the skeleton length; a branch point is a skeleton vertex of degree ≥ 3). scikit-image's 3D
thinning is not used: it returns an empty skeleton for some even-width tubes (scikit-image issue #3757).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medvlseg.utils.atomic import write_json, write_text

log = logging.getLogger(__name__)

SIDES = ("all", "left", "right")
METRICS = ("volume_ml", "hu_mean", "hu_median", "surface_area_mm2", "n_components", "skeleton_length_mm",
           "n_branch_points")
CSV_COLUMNS = ("case", "label", "class", "side", *METRICS)
# TEASAR in mm: invalidation ball radius = 1.5 x distance-to-boundary + 2 mm (kimimaro's default 300 is for nm)
TEASAR_MM = {"scale": 1.5, "const": 2.0}


def side_map(hu: np.ndarray, spacing: Sequence[float], where: str = "image") -> tuple[np.ndarray, str]:
    """Per-voxel side (1 left, 2 right) of a canonical RAS+ CT (HU) and the method used ("lungs" or "midline")."""
    from scipy import ndimage

    from medvlseg.data.lungs import LungSplitError, lung_map

    try:
        lungs = lung_map(hu, spacing, where=where)
    except LungSplitError as exc:
        log.warning("%s; statistics sides fall back to the mid-sagittal plane", exc)
        side = np.full(hu.shape, 2, dtype=np.uint8)
        side[: hu.shape[0] // 2] = 1  # canonical RAS+: patient's left at low axis-0 indices
        return side, "midline"
    idx = ndimage.distance_transform_edt(lungs == 0, sampling=spacing, return_distances=False, return_indices=True)
    return lungs[tuple(idx)], "lungs"


def skeleton_figures(mask: np.ndarray, spacing: Sequence[float]) -> tuple[float, int]:
    """(centre-line length in mm, number of branch points) of a boolean 3D mask (kimimaro TEASAR, all components)."""
    import kimimaro

    skeletons = kimimaro.skeletonize(mask.astype(np.uint8), anisotropy=tuple(float(s) for s in spacing),
                                     teasar_params=TEASAR_MM, dust_threshold=0, fix_branching=True,
                                     progress=False, parallel=1)
    if not skeletons:
        return 0.0, 0
    skel = skeletons[1]
    degree = np.bincount(skel.edges.ravel(), minlength=len(skel.vertices)) if len(skel.edges) else np.zeros(1)
    return float(skel.cable_length()), int((degree >= 3).sum())


def structure_figures(mask: np.ndarray, hu: np.ndarray, spacing: Sequence[float]) -> dict[str, float | int | None]:
    """The METRICS of one boolean mask on its CT (HU); empty masks give volume 0 and nulls."""
    import cc3d
    from skimage.measure import marching_cubes, mesh_surface_area

    n = int(mask.sum())
    voxel_ml = float(np.prod(spacing)) / 1000.0
    if n == 0:
        return {"volume_ml": 0.0, "hu_mean": None, "hu_median": None, "surface_area_mm2": 0.0, "n_components": 0,
                "skeleton_length_mm": 0.0, "n_branch_points": 0}
    values = hu[mask].astype(np.float64)
    verts, faces, _, _ = marching_cubes(np.pad(mask, 1).astype(np.float32), 0.5, spacing=tuple(map(float, spacing)))
    _, n_comp = cc3d.connected_components(mask, connectivity=26, return_N=True)
    length, branches = skeleton_figures(mask, spacing)
    return {"volume_ml": round(n * voxel_ml, 4), "hu_mean": round(float(values.mean()), 2),
            "hu_median": round(float(np.median(values)), 2),
            "surface_area_mm2": round(float(mesh_surface_area(verts, faces)), 2), "n_components": int(n_comp),
            "skeleton_length_mm": round(length, 2), "n_branch_points": branches}


def _kind(name: str) -> str | None:
    """'artery', 'vein' or None from a class name."""
    lower = name.lower()
    return "artery" if "arter" in lower else "vein" if ("vein" in lower or "venous" in lower) else None


def label_statistics(labels: np.ndarray, hu: np.ndarray, spacing: Sequence[float], names: Sequence[str],
                     where: str = "image") -> dict:
    """Statistics dict of a canonical label map (value i+1 = names[i]) on its canonical CT (HU), spacing in mm."""
    if labels.shape != hu.shape:
        raise ValueError(f"label grid {labels.shape} does not match the image grid {hu.shape}")
    sides, method = side_map(hu, spacing, where)
    classes: dict[str, dict] = {}
    volumes = {kind: dict.fromkeys(SIDES, 0.0) for kind in ("artery", "vein")}
    for value, name in enumerate(names, start=1):
        mask = labels == value
        per_side = {}
        for side in SIDES:
            sub = mask if side == "all" else mask & (sides == (1 if side == "left" else 2))
            per_side[side] = structure_figures(sub, hu, spacing)
            if (kind := _kind(name)) is not None:
                volumes[kind][side] += float(per_side[side]["volume_ml"])
        classes[name] = {"label": value, **per_side}
    ratio = {s: (round(volumes["artery"][s] / volumes["vein"][s], 4) if volumes["vein"][s] > 0 else None)
             for s in SIDES}
    return {"spacing_mm": [float(s) for s in spacing], "side_method": method, "classes": classes,
            "artery_vein_volume_ratio": ratio,
            "keys": {"volume_ml": "ml", "hu_mean": "HU", "hu_median": "HU", "surface_area_mm2": "mm²",
                     "n_components": "26-connected components", "skeleton_length_mm": "mm",
                     "n_branch_points": "skeleton junctions",
                     "artery_vein_volume_ratio": "artery volume / vein volume (null without veins)"}}


def statistics_path(label_path: Path) -> Path:
    """`<stem>_statistics.json` beside a label map `<stem>.<ext>`."""
    from medvlseg.infer.writers import sidecar_paths

    stem = sidecar_paths(label_path)["json"].name[: -len(".json")]
    return label_path.with_name(f"{stem}_statistics.json")


def write_statistics(path: Path, labels: np.ndarray, hu: np.ndarray, spacing: Sequence[float],
                     names: Sequence[str], case: str, source: str) -> dict:
    """Compute and write one case's statistics JSON atomically; returns the dict."""
    stats = {"case": case, "source": source, **label_statistics(labels, hu, spacing, names, where=source)}
    write_json(path, stats)
    return stats


def statistics_rows(stats: dict) -> list[dict]:
    """CSV rows (one per class and side) of one case's statistics dict."""
    rows = []
    for name, entry in stats["classes"].items():
        for side in SIDES:
            rows.append({"case": stats["case"], "label": entry["label"], "class": name, "side": side,
                         **{k: entry[side][k] for k in METRICS}})
    return rows


def write_statistics_csv(path: Path, stats: Sequence[dict]) -> None:
    """One CSV (CSV_COLUMNS; empty cells for nulls) over the statistics of many cases, written atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for s in stats:
        writer.writerows(statistics_rows(s))
    write_text(path, buf.getvalue())
