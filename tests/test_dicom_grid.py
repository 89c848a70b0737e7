"""DICOM slice positions: a gantry-tilted series lands where its ImagePositionPatient says; gaps are refused or
interpolated; duplicates are refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest

from fuzz_inputs import tilt_series
from medvlseg.errors import InputError
from medvlseg.io import read_image
from medvlseg.io.dicom import write_dicom_series

STEP = 2.0  # slice step, mm


def _series(folder: Path, tilt_deg: float = 0.0) -> tuple[list[Path], np.ndarray]:
    """A 20x24x12 series (1 x 1 x 2 mm) with a bright rod at LPS columns 5-7, rows 5-7; IPP sheared by the tilt."""
    arr = np.full((20, 24, 12), -1000, dtype=np.int16)
    arr[5:8, 5:8, :] = 300
    files = write_dicom_series(folder, arr, (1.0, 1.0, STEP), (0.0, 0.0, 0.0))
    tilt_series(files, tilt_deg, STEP)
    return files, arr


def _rod_centre_lps(volume, z_mm: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Mean LPS (x, y) of the bright rod in the slice nearest to world z (mm)."""
    idx = np.argwhere(np.asarray(volume.array) > 100)
    world = idx @ volume.affine[:3, :3].T + volume.affine[:3, 3]
    near = np.abs(world[:, 2] - z_mm) < STEP / 2
    ras = world[near].mean(axis=0)
    return np.array([-ras[0], -ras[1]])


@pytest.mark.parametrize("tilt", [0.0, 20.0])
def test_tilted_series_is_placed_by_its_slice_positions(tmp_path: Path, tilt: float,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    _series(tmp_path, tilt)
    vol = read_image(tmp_path)
    for k in (0, 5, 11):
        expected = np.array([6.0, 6.0 + k * STEP * math.tan(math.radians(tilt))])  # rod centre in slice k, LPS mm
        assert np.allclose(_rod_centre_lps(vol, k * STEP), expected, atol=0.6), k
    assert np.allclose(vol.spacing, (1.0, 1.0, STEP))
    assert ("gantry tilt" in caplog.text) == (tilt > 0)


def test_gap_is_refused_naming_the_files_then_interpolated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files, _ = _series(tmp_path)
    files[6].unlink()
    with pytest.raises(InputError, match=r"missing slice.*slice_0005\.dcm and slice_0007\.dcm"):
        read_image(tmp_path)
    vol = read_image(tmp_path, allow_gaps=True)
    assert vol.shape[2] == 12 and np.allclose(vol.spacing[2], STEP)  # the missing slice is back on a uniform grid
    assert (np.asarray(vol.array)[:, :, 6] > 100).sum() == 9  # interpolated between its neighbours
    assert "interpolating" in caplog.text


def test_duplicate_positions_are_refused(tmp_path: Path) -> None:
    files, _ = _series(tmp_path)
    ds = pydicom.dcmread(files[4])
    ds.ImagePositionPatient = [float(v) for v in pydicom.dcmread(files[3]).ImagePositionPatient]
    ds.ImagePositionPatient[2] += 0.1
    ds.save_as(files[4])
    with pytest.raises(InputError, match="apart"):
        read_image(tmp_path)
