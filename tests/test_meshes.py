"""Surface meshes: vertices on the label surface in world mm (RAS and LPS files), files re-read by trimesh,
volume/area summary, `medvlseg mesh` CLI and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import trimesh
from scipy.ndimage import map_coordinates

from medvlseg.cli import main
from medvlseg.infer.meshes import RAS_TO_LPS, meshes_from_labels, write_meshes
from medvlseg.io import Volume, read_image, write_image

SPACING = (0.8, 1.1, 1.7)


def _ellipsoids(shape: tuple[int, int, int] = (40, 36, 30)) -> np.ndarray:
    """Two separate ellipsoids, labels 1 and 2, in a (X, Y, Z) grid."""
    x, y, z = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    labels = np.zeros(shape, np.uint8)
    labels[((x - 12) / 8) ** 2 + ((y - 18) / 10) ** 2 + ((z - 15) / 7) ** 2 <= 1] = 1
    labels[((x - 30) / 6) ** 2 + ((y - 18) / 7) ** 2 + ((z - 12) / 5) ** 2 <= 1] = 2
    return labels


def _affine() -> np.ndarray:
    """A canonical voxel→RAS affine: SPACING mm, a non-zero origin."""
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = (-31.5, 12.25, -80.0)
    return affine


def _write(path: Path, labels: np.ndarray, codes: str) -> None:
    """Write canonical `labels` as a file stored in orientation `codes` (RAS or LPS)."""
    like = Volume.from_canonical(labels, _affine(), orientation=codes)
    write_image(path, labels, like=like, dtype=np.uint8)


@pytest.mark.parametrize("codes", ["RAS", "LPS"])
@pytest.mark.parametrize("coords", ["LPS", "RAS"])
def test_vertices_lie_on_the_label_surface(tmp_path: Path, codes: str, coords: str) -> None:
    path = tmp_path / f"labels_{codes}.nii.gz"
    _write(path, _ellipsoids(), codes)
    volume = read_image(path)
    assert "".join(nib.aff2axcodes(nib.load(str(path)).affine)) == codes
    summaries = write_meshes(path, tmp_path / "m", formats=["stl"], smooth_iterations=0, max_faces=0,
                             coords=coords)
    assert [s.label for s in summaries] == [1, 2]
    canonical = np.asarray(volume.array)
    to_voxel = np.linalg.inv(volume.affine if coords == "RAS" else RAS_TO_LPS @ volume.affine)
    for s in summaries:
        mesh = trimesh.load(tmp_path / "m" / s.files[0], force="mesh")
        ijk = mesh.vertices @ to_voxel[:3, :3].T + to_voxel[:3, 3]
        level = map_coordinates((canonical == s.label).astype(float), ijk.T, order=1)
        assert np.abs(level - 0.5).max() < 1e-3  # marching-cubes vertices sit on the 0.5 iso-surface
        assert mesh.is_watertight and mesh.volume > 0
        voxel_ml = float(np.prod(SPACING)) / 1000
        assert s.volume_ml == pytest.approx((canonical == s.label).sum() * voxel_ml)
        assert mesh.volume / 1000 == pytest.approx(s.volume_ml, rel=0.15)


def test_stl_obj_reread_smoothed_decimated_and_summary(tmp_path: Path) -> None:
    labels = _ellipsoids()
    summaries = meshes_from_labels(labels, _affine(), {1: "pulmonary artery", 2: "pulmonary vein"},
                                   tmp_path, "case", formats=["stl", "obj", "ply"], smooth_iterations=10,
                                   max_faces=800)
    for s in summaries:
        assert s.faces <= 800
        for name in s.files:
            mesh = trimesh.load(tmp_path / name, force="mesh")
            assert len(mesh.faces) == s.faces
        assert s.surface_mm2 > 0
    meta = json.loads((tmp_path / "case_meshes.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in meta["classes"]] == ["pulmonary artery", "pulmonary vein"]
    assert meta["coordinates"] == "LPS" and meta["units"] == "mm"
    assert (tmp_path / "case_1_pulmonary_artery.obj").is_file()


def test_mesh_cli_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "pred.nii.gz"
    _write(path, _ellipsoids(), "LPS")
    assert main(["mesh", str(path), "-o", str(tmp_path / "out"), "--mesh-format", "stl", "--mesh-faces", "500"]) == 0
    out = capsys.readouterr().out
    assert "1 pulmonary artery:" in out and " ml, " in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "pred_1_pulmonary_artery.stl", "pred_2_pulmonary_vein.stl", "pred_meshes.json"]
    assert main(["mesh", str(path), "--mesh-format", "fbx"]) == 1
    assert "not supported; use stl, obj, ply, glb" in capsys.readouterr().err
    assert main(["mesh", str(tmp_path / "missing.nii.gz")]) == 1
    float_map = tmp_path / "float.nii.gz"
    write_image(float_map, np.random.default_rng(0).random((8, 8, 8)), affine=np.eye(4), dtype=np.float32)
    assert main(["mesh", str(float_map)]) == 1
    assert "not a label map" in capsys.readouterr().err
