"""`predict --html`: one self-contained offline HTML page showing the CT, the label overlay in three planes and the
3D vessel meshes, with a label-opacity slider and one toggle per class.

The page inlines NiiVue (npm @niivue/niivue, BSD-2-Clause; its built UMD file and licence are vendored into
medvlseg/resources/niivue/ by scripts/vendor_niivue.sh), the CT and the label map as base64 gzipped NIfTI (canonical
RAS+ grid, NiiVue's world space) and one binary STL mesh per class (RAS mm, medvlseg.infer.meshes). A
Content-Security-Policy meta tag forbids any network fetch, so the page works from disk without a connection.
Scans with more than `max_voxels` voxels are shown on an integer-strided grid (every k-th voxel per axis) to keep
the page small; the label map written beside it is untouched.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from medvlseg.utils.atomic import write_text

MAX_VOXELS = 200 ** 3  # above this the page shows a strided grid
NIIVUE_LICENSE = "NiiVue (https://github.com/niivue/niivue), BSD-2-Clause licence:"


def _resource(name: str) -> str:
    """Text of a packaged resource under medvlseg/resources/."""
    return (resources.files("medvlseg") / "resources" / name).read_text(encoding="utf-8")


def _nifti_b64(array: np.ndarray, affine: np.ndarray) -> str:
    """Base64 of a gzipped NIfTI-1 file holding `array` with voxel→RAS `affine` (mm)."""
    import nibabel as nib

    img = nib.Nifti1Image(np.ascontiguousarray(array), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return base64.b64encode(gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)).decode("ascii")


def strided(array: np.ndarray, affine: np.ndarray, max_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    """(array, affine) subsampled by the smallest integer stride per axis that fits `max_voxels` voxels."""
    k = 1
    while np.prod([-(-n // k) for n in array.shape]) > max_voxels:
        k += 1
    if k == 1:
        return array, affine
    step = np.diag([k, k, k, 1.0])
    return array[::k, ::k, ::k], np.asarray(affine, dtype=np.float64) @ step


def _mesh_b64(mask: np.ndarray, affine: np.ndarray, faces: int) -> str | None:
    """Base64 binary STL of a mask's smoothed surface in RAS mm (None when empty)."""
    from medvlseg.infer.meshes import mask_mesh

    mesh = mask_mesh(mask, affine, smooth_iterations=10, max_faces=faces, coords="RAS")
    if mesh is None:
        return None
    return base64.b64encode(mesh.export(file_type="stl")).decode("ascii")


def viewer_html(hu: np.ndarray, labels: np.ndarray, affine: np.ndarray, names: Sequence[str], title: str,
                window: tuple[float, float] = (-200.0, 500.0), max_voxels: int = MAX_VOXELS,
                mesh_faces: int = 20_000) -> str:
    """The page's HTML for a canonical CT (HU) and label map (value i+1 = names[i]) on voxel→RAS `affine`."""
    from medvlseg.infer.writers import label_table

    if hu.shape != labels.shape:
        raise ValueError(f"label grid {labels.shape} does not match the image grid {hu.shape}")
    meshes_affine = np.asarray(affine, dtype=np.float64)
    classes = []
    for row in label_table(names)[1:]:
        mask = labels == row["value"]
        classes.append({"value": row["value"], "name": row["name"], "color": row["color"],
                        "mesh": _mesh_b64(mask, meshes_affine, mesh_faces)})
    ct, small_affine = strided(np.asarray(hu), meshes_affine, max_voxels)
    lab, _ = strided(labels, meshes_affine, max_voxels)
    data = {"ct": _nifti_b64(np.clip(ct, -1024, 3071).astype(np.int16), small_affine),
            "labels": _nifti_b64(lab.astype(np.uint8), small_affine), "window": list(window), "classes": classes}
    niivue = _resource("niivue/niivue.umd.js").replace("</script", "<\\/script")
    licence = _resource("niivue/LICENSE").replace("*/", "* /")
    page = _resource("viewer.html")
    page = page.replace("__TITLE__", html.escape(title))
    page = page.replace("<script>__NIIVUE__</script>",
                        f"<script>/*! {NIIVUE_LICENSE}\n{licence}*/\n{niivue}</script>")
    return page.replace("__DATA__", json.dumps(data).replace("</", "<\\/"))


def write_viewer(path: Path, hu: np.ndarray, labels: np.ndarray, affine: np.ndarray, names: Sequence[str],
                 title: str, max_voxels: int = MAX_VOXELS) -> Path:
    """Write the viewer page atomically; returns its path."""
    write_text(path, viewer_html(hu, labels, affine, names, title, max_voxels=max_voxels))
    return path


def viewer_path(label_path: Path) -> Path:
    """`<stem>_view.html` beside a label map `<stem>.<ext>`."""
    from medvlseg.infer.writers import sidecar_paths

    stem = sidecar_paths(label_path)["json"].name[: -len(".json")]
    return label_path.with_name(f"{stem}_view.html")
