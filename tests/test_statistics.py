"""`predict --statistics`: per-structure figures on shapes whose answers are known, sides from the lungs, the
folder CSV from the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.infer.statistics import CSV_COLUMNS, METRICS, label_statistics, skeleton_figures
from medvlseg.io import Manifest, read_image

SPACING = (2.0, 2.0, 2.0)


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A 44x32x36 CT (2 mm) with two lungs and its labels: a straight artery tube (left) + an artery blob (right),
    a T-shaped vein (right). Artery voxels 300 HU, vein voxels 150 HU, lungs -850 HU, body 40 HU."""
    hu = np.full((44, 32, 36), 40.0, dtype=np.float32)
    hu[2:19, 4:28, 4:32] = -850.0  # left lung (low axis-0 = patient's left in canonical RAS+)
    hu[25:42, 4:28, 4:32] = -850.0  # right lung
    labels = np.zeros(hu.shape, dtype=np.uint8)
    labels[9:12, 14:17, 8:28] = 1  # straight tube, 20 voxels = 40 mm long
    labels[34:37, 6:9, 26:29] = 1  # a separate artery blob in the right lung
    labels[30:33, 14:17, 8:22] = 2  # vein stem along z
    labels[30:33, 8:26, 19:22] = 2  # vein cross-bar along y: a T
    hu[labels == 1] = 300.0
    hu[labels == 2] = 150.0
    return hu, labels


def test_known_shapes_give_known_figures() -> None:
    hu, labels = _scene()
    stats = label_statistics(labels, hu, SPACING, ["pulmonary artery", "pulmonary vein"])
    assert stats["side_method"] == "lungs"
    artery, vein = stats["classes"]["pulmonary artery"], stats["classes"]["pulmonary vein"]
    voxel_ml = 8.0 / 1000
    assert artery["all"]["volume_ml"] == pytest.approx((labels == 1).sum() * voxel_ml)
    assert artery["left"]["volume_ml"] == pytest.approx(3 * 3 * 20 * voxel_ml)  # the tube only
    assert artery["right"]["volume_ml"] == pytest.approx(27 * voxel_ml)  # the blob only
    assert (artery["all"]["n_components"], artery["left"]["n_components"], artery["right"]["n_components"]) == (2, 1, 1)
    assert vein["left"]["volume_ml"] == 0.0 and vein["left"]["hu_mean"] is None
    assert artery["all"]["hu_mean"] == pytest.approx(300.0) and vein["all"]["hu_median"] == pytest.approx(150.0)
    # a 3x3x20 box (6x6x40 mm): surface 2*36 + 4*240 = 1032 mm², marching cubes cuts edges/corners a little
    assert 850 < artery["left"]["surface_area_mm2"] < 1032
    assert 34.0 <= artery["left"]["skeleton_length_mm"] <= 42.0  # centre line of a 40 mm tube (voxel centres 38 mm)
    assert artery["left"]["n_branch_points"] == 0 and vein["all"]["n_branch_points"] == 1  # straight tube; a T
    ratio = stats["artery_vein_volume_ratio"]
    assert ratio["all"] == pytest.approx((labels == 1).sum() / (labels == 2).sum(), rel=1e-3)
    assert ratio["left"] is None  # no vein on the left
    assert set(artery["all"]) == set(METRICS)


def test_skeleton_length_follows_spacing() -> None:
    mask = np.zeros((8, 8, 30), dtype=bool)
    mask[3:5, 3:5, 2:28] = True
    iso, _ = skeleton_figures(mask, (1.0, 1.0, 1.0))
    stretched, _ = skeleton_figures(mask, (1.0, 1.0, 2.5))
    assert stretched == pytest.approx(2.5 * iso, rel=0.05) and 24 <= iso <= 27  # 2x2 tubes: skimage gives 0


def test_no_lungs_falls_back_to_midline_and_says_so() -> None:
    hu, labels = _scene()
    hu[hu < 0] = 40.0  # no air: no lungs to split
    stats = label_statistics(labels, hu, SPACING, ["pulmonary artery", "pulmonary vein"])
    assert stats["side_method"] == "midline"
    assert stats["classes"]["pulmonary artery"]["left"]["volume_ml"] == pytest.approx(180 * 8 / 1000)


def test_grid_mismatch_is_rejected() -> None:
    hu, labels = _scene()
    with pytest.raises(ValueError, match="does not match"):
        label_statistics(labels[:-1], hu, SPACING, ["a", "b"])


def test_predict_folder_statistics_csv(tiny_run: Path, tiny_benchmark: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "preds"
    code = main(["predict", "-i", str(tiny_benchmark), "-o", str(out), "-m", str(tiny_run), "--split", "test",
                 "--statistics", "--no-progress", "--min-component-mm3", "0", "--ext", ".seg.nrrd"])
    assert code == 0, capsys.readouterr().err
    cases = [c.name for c in Manifest.load(tiny_benchmark).split("test")]
    with (out / "statistics.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(cases) * 2 * 3
    for case in cases:
        stats = json.loads((out / f"{case}_statistics.json").read_text(encoding="utf-8"))
        pred = read_image(out / f"{case}.seg.nrrd")  # folder mode with --ext .seg.nrrd (Slicer segmentations)
        for name, entry in stats["classes"].items():
            expected = (np.asarray(pred.array) == entry["label"]).sum() * np.prod(pred.spacing) / 1000
            assert entry["all"]["volume_ml"] == pytest.approx(expected, abs=1e-3)
            assert entry["left"]["volume_ml"] + entry["right"]["volume_ml"] == pytest.approx(expected, abs=2e-3)
            row = next(r for r in rows if r["case"] == case and r["class"] == name and r["side"] == "all")
            assert float(row["volume_ml"]) == pytest.approx(entry["all"]["volume_ml"])
