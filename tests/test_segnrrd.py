"""3D Slicer segmentation NRRD output: segment fields read back with pynrrd, geometry read back with SimpleITK,
and `predict -o case.seg.nrrd` from the CLI."""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.infer.writers import colour_for, write_label_map
from medvlseg.io import Manifest, Volume, read_image

NAMES = ["pulmonary artery", "pulmonary vein", "left lung"]


def _volume() -> tuple[Volume, np.ndarray]:
    """A 20x16x12 canonical volume stored as LPS (1.5, 1, 2 mm) and a label map with values 1 and 2 (3 empty)."""
    affine = np.diag([1.5, 1.0, 2.0, 1.0])
    affine[:3, 3] = (-10.0, 5.0, 30.0)
    vol = Volume.from_canonical(np.zeros((20, 16, 12), np.int16), affine, orientation="LPS")
    labels = np.zeros((20, 16, 12), np.uint8)
    labels[2:5, 3:9, 1:4] = 1
    labels[10:18, 12:15, 6:11] = 2
    return vol, labels


def test_segment_fields_and_geometry_read_back(tmp_path: Path) -> None:
    vol, labels = _volume()
    path = write_label_map(tmp_path / "case.seg.nrrd", labels, vol, NAMES)
    data, header = nrrd.read(str(path))
    assert header["space"] == "left-posterior-superior" and data.dtype == np.uint8
    np.testing.assert_array_equal(data, vol.to_source(labels))  # the file's own (LPS) voxel order
    assert header["Segmentation_MasterRepresentation"] == "Binary labelmap"
    for n, name in enumerate(NAMES):
        key = f"Segment{n}_"
        assert header[key + "Name"] == name and header[key + "LabelValue"] == str(n + 1)
        assert header[key + "Layer"] == "0"
        rgb = [float(c) for c in header[key + "Color"].split()]
        np.testing.assert_allclose(rgb, np.array(colour_for(name, n)) / 255, atol=1e-5)
        idx = np.argwhere(data == n + 1)
        expected = " ".join(f"{a} {b}" for a, b in zip(idx.min(0), idx.max(0))) if len(idx) else "0 -1 0 -1 0 -1"
        assert header[key + "Extent"] == expected
    assert header["Segment0_Color"] != header["Segment1_Color"]  # artery red, vein blue
    back = read_image(path)  # SimpleITK: same world grid as the reference
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-6)
    np.testing.assert_array_equal(back.array, labels)


def test_unnamed_label_value_is_rejected(tmp_path: Path) -> None:
    vol, labels = _volume()
    labels[0, 0, 0] = 7
    with pytest.raises(ValueError, match=r"\[7\] have no segment name"):
        write_label_map(tmp_path / "bad.seg.nrrd", labels, vol, NAMES)
    assert not list(tmp_path.iterdir())  # nothing partial left behind


def test_predict_writes_slicer_segmentation(tiny_run: Path, tiny_benchmark: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    case = Manifest.load(tiny_benchmark).split("test")[0]
    out = tmp_path / "case.seg.nrrd"
    code = main(["predict", "-i", str(case.image), "-o", str(out), "-m", str(tiny_run), "--no-progress",
                 "--min-component-mm3", "0"])
    assert code == 0, capsys.readouterr().err
    _, header = nrrd.read(str(out))
    assert (header["Segment0_Name"], header["Segment1_Name"]) == ("pulmonary artery", "pulmonary vein")
    assert (tmp_path / "case.json").is_file() and (tmp_path / "case.ctbl").is_file()  # sidecars named by stem
    ct = read_image(case.image)
    np.testing.assert_allclose(read_image(out).affine, ct.affine, atol=1e-5)
