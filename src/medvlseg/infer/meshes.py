"""Surface meshes of label maps in the scanner's millimetre coordinates, with volume and area per class.

Libraries do the work: scikit-image marching cubes, trimesh Taubin smoothing and STL/OBJ/PLY/GLB writing,
fast-simplification (through trimesh) quadric decimation. Coordinates: LPS (DICOM/ITK, what 3D Slicer assumes
for STL/OBJ files without a coordinate-system comment) by default, or RAS; either way vertices are the label
surface in world millimetres, so the mesh overlays the CT in a viewer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from medvlseg.errors import InputError
from medvlseg.utils.atomic import atomic_path, write_json

log = logging.getLogger(__name__)

FORMATS = ("stl", "obj", "ply", "glb")
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class MeshSummary:
    """One class's mesh: label value, name, volume (ml), surface area (mm²), size, written files."""

    label: int
    name: str
    volume_ml: float
    surface_mm2: float
    vertices: int
    faces: int
    files: list[str]


def mask_mesh(mask: np.ndarray, affine: np.ndarray, smooth_iterations: int = 10, max_faces: int = 100_000,
              coords: str = "LPS"):  # type: ignore[no-untyped-def]
    """Boolean mask (canonical X, Y, Z) + voxel→RAS affine → trimesh.Trimesh in world mm (None when empty)."""
    import trimesh
    from skimage.measure import marching_cubes

    if not mask.any():
        return None
    padded = np.pad(mask.astype(np.float32), 1)  # closed surfaces at the volume border
    verts, faces, _, _ = marching_cubes(padded, level=0.5)
    verts -= 1.0  # undo the padding: vertices in voxel indices of `mask`
    world = affine if coords == "RAS" else RAS_TO_LPS @ affine
    xyz = verts @ world[:3, :3].T + world[:3, 3]
    mesh = trimesh.Trimesh(xyz, faces, process=True)
    if mesh.volume < 0:  # the winding depends on the affine's handedness: keep normals pointing outwards
        mesh.invert()
    if smooth_iterations > 0:
        trimesh.smoothing.filter_taubin(mesh, iterations=smooth_iterations)
    if max_faces and len(mesh.faces) > max_faces:
        mesh = mesh.simplify_quadric_decimation(face_count=max_faces)
    return mesh


def _write_mesh(mesh, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Export atomically in the format given by the suffix."""
    with atomic_path(path, suffix=path.suffix) as tmp:
        mesh.export(str(tmp), file_type=path.suffix[1:])


def label_names(label_path: Path, values: Sequence[int]) -> dict[int, str]:
    """Names of label values: the predict sidecar `<stem>.json` when present, else artery/vein or 5-class."""
    from medvlseg.infer.writers import sidecar_paths
    from medvlseg.data.label_scheme import FIVE, THREE

    side = sidecar_paths(label_path)["json"]
    if side.is_file():
        labels = json.loads(side.read_text(encoding="utf-8")).get("labels", {})
        return {int(k): str(v) for k, v in labels.items() if int(k) > 0}
    names = THREE.names if max(values, default=0) <= 2 else FIVE.names
    return {v: names[v - 1] if v - 1 < len(names) else f"label {v}" for v in values}


def meshes_from_labels(labels: np.ndarray, affine: np.ndarray, names: dict[int, str], out_dir: Path, stem: str,
                       formats: Sequence[str] = ("stl", "obj"), smooth_iterations: int = 10,
                       max_faces: int = 100_000, coords: str = "LPS", source: str = "") -> list[MeshSummary]:
    """Canonical integer labels + voxel→RAS affine → one mesh per value, plus `<stem>_meshes.json`."""
    bad = sorted(set(formats) - set(FORMATS))
    if bad or coords not in ("LPS", "RAS"):
        raise InputError(out_dir, f"mesh formats must be from {FORMATS} (got {list(formats)}), coords LPS or RAS")
    values = [int(v) for v in np.unique(labels) if v > 0]
    voxel_ml = abs(float(np.linalg.det(affine[:3, :3]))) / 1000.0
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = []
    for value in values:
        mask = labels == value
        mesh = mask_mesh(mask, affine, smooth_iterations, max_faces, coords)
        name = names.get(value, f"label {value}")
        files = []
        for fmt in formats:
            path = out_dir / f"{stem}_{value}_{'_'.join(name.lower().split())}.{fmt}"
            _write_mesh(mesh, path)
            files.append(path.name)
        summaries.append(MeshSummary(value, name, int(mask.sum()) * voxel_ml, float(mesh.area), len(mesh.vertices),
                                     len(mesh.faces), files))
    write_json(out_dir / f"{stem}_meshes.json", {"source": source, "coordinates": coords, "units": "mm",
                                                 "classes": [asdict(s) for s in summaries]})
    return summaries


def write_meshes(label_path: str | Path, out_dir: str | Path, formats: Sequence[str] = ("stl", "obj"),
                 smooth_iterations: int = 10, max_faces: int = 100_000, coords: str = "LPS") -> list[MeshSummary]:
    """One mesh per label value of a label-map file, plus `<stem>_meshes.json` (volume ml, area mm²)."""
    from medvlseg.infer.writers import sidecar_paths
    from medvlseg.io import read_image
    from medvlseg.io.checks import check_label_map

    label_path = Path(label_path)
    volume = read_image(label_path)
    labels = np.asarray(volume.array)
    check_label_map(labels, label_path)
    labels = labels.astype(np.int64)
    names = label_names(label_path, [int(v) for v in np.unique(labels) if v > 0])
    stem = sidecar_paths(label_path)["json"].name[: -len(".json")]
    return meshes_from_labels(labels, volume.affine, names, Path(out_dir), stem, formats, smooth_iterations,
                              max_faces, coords, str(label_path))
