"""Overlay figures: PNG written atomically, radiological orientation of the views, coloured MIP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medvlseg.eval.figures import _views, artery_vein, coloured_mip, save_overlay_png, vessel_centre


@pytest.fixture()
def volume() -> tuple[np.ndarray, np.ndarray]:
    """40x36x32 CT (HU) with an artery tube at low x (patient left) and a vein tube at high x (patient right)."""
    rng = np.random.default_rng(0)
    ct = (rng.normal(-800, 30, (40, 36, 32))).astype(np.int16)
    lab = np.zeros(ct.shape, np.uint8)
    lab[5:9, 16:20, 4:28] = 1
    lab[30:34, 16:20, 4:28] = 2
    ct[lab > 0] = 200
    return ct, lab


def test_png_written(volume: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    from matplotlib.image import imread

    ct, lab = volume
    out = save_overlay_png(tmp_path / "f" / "case.png", ct, lab, (0.8, 0.8, 2.0), "case", gt=lab)
    img = imread(out)
    assert img.ndim == 3 and img.shape[0] > 500 and img.shape[1] > 1000
    assert sorted(p.name for p in out.parent.iterdir()) == ["case.png"]  # no temp file left
    with pytest.raises(ValueError):
        save_overlay_png(tmp_path / "bad.png", ct, lab[:-1], (1, 1, 1), "bad")
    assert not (tmp_path / "bad.png").exists()


def test_radiological_orientation(volume: tuple[np.ndarray, np.ndarray]) -> None:
    _, lab = volume
    (axial, aspect, letters, _), (coronal, _, _, _), _ = _views(artery_vein(lab), vessel_centre(lab), (0.8, 0.6, 2))
    assert letters == ("R", "L", "A", "P") and aspect == pytest.approx(0.75)
    cols_artery = np.nonzero(axial == 1)[1]
    cols_vein = np.nonzero(axial == 2)[1]
    assert cols_artery.min() > cols_vein.max()  # patient left (artery, low x) on the viewer's right
    assert coronal.shape == (32, 40)


def test_mip_front_class_and_5class() -> None:
    av = np.zeros((6, 10, 5), np.uint8)
    av[2, 8, 1] = 1  # anterior artery
    av[2, 1, 1] = 2  # posterior vein on the same ray
    av[4, 1, 3] = 2
    rgb = coloured_mip(av)  # (Z, X flipped, 3)
    assert rgb.shape == (5, 6, 3)
    assert rgb[1, 6 - 1 - 2, 0] > rgb[1, 6 - 1 - 2, 2]  # red wins: artery in front
    assert rgb[3, 6 - 1 - 4, 2] > 0 and rgb[3, 6 - 1 - 4, 2] < 1.0  # vein at the back: blue, darkened
    assert artery_vein(np.array([0, 1, 2, 3, 4, 9])).tolist() == [0, 1, 2, 1, 2, 0]
