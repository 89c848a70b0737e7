"""DICOM-SEG: a label map on a DICOM series becomes a Segmentation object that references the series and
round-trips through pydicom/highdicom (segments, frames, names, pixels); non-DICOM inputs are refused."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from medvlseg.errors import InputError
from medvlseg.infer.dicom_seg import write_dicom_seg
from medvlseg.io import Volume, read_image, write_image
from medvlseg.io.dicom import write_dicom_series

NAMES = ["pulmonary artery", "pulmonary vein"]


@pytest.fixture(params=[1.0, -1.0], ids=["z_up", "z_down"])
def series(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    """A 24x20x9 DICOM series (LPS, anisotropic spacing) with either slice direction."""
    rng = np.random.default_rng(3)
    array = rng.integers(-1000, 400, size=(24, 20, 9)).astype(np.int16)  # ITK (i, j, k)
    write_dicom_series(tmp_path / "series", array, (0.7, 0.8, 2.5), (-50.0, -40.0, 10.0),
                       (1, 0, 0, 0, 1, 0, 0, 0, request.param))
    return read_image(tmp_path / "series")


def _labels(shape: tuple[int, ...]) -> np.ndarray:
    """Canonical labels: an artery block and a vein block, on different slices."""
    labels = np.zeros(shape, np.uint8)
    labels[2:10, 3:12, 1:4] = 1
    labels[12:20, 5:15, 5:8] = 2
    return labels


def test_round_trip_segments_frames_and_pixels(series: Volume, tmp_path: Path) -> None:
    labels = _labels(series.array.shape)
    path = write_dicom_seg(series, labels, NAMES, tmp_path / "case_seg.dcm")
    seg = hd.seg.segread(path)
    n_slices = series.array.shape[2]
    assert [seg.get_segment_description(i).segment_label for i in (1, 2)] == NAMES
    assert all(hasattr(seg.SegmentSequence[i], "RecommendedDisplayCIELabValue") for i in (0, 1))  # colours
    assert int(seg.NumberOfFrames) == 2 * n_slices  # binary, empty frames kept: one per slice and segment
    files = sorted((path.parent / "series").iterdir())  # file-name order, independent of our reader
    sources = [pydicom.dcmread(p) for p in files]
    assert seg.StudyInstanceUID == sources[0].StudyInstanceUID
    uids = [ds.SOPInstanceUID for ds in sources]
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1, 2])
    hu = series.to_source()  # (column, row, slice) in the reader's slice order
    expected = series.to_source(labels)
    for ds, mask in zip(sources, pixels):
        image = pydicom.pixels.apply_rescale(ds.pixel_array, ds).T  # (column, row)
        (k,) = [k for k in range(hu.shape[2]) if np.array_equal(hu[..., k], image)]  # the slice of this file
        got = np.where(mask[..., 1].T > 0, 2, np.where(mask[..., 0].T > 0, 1, 0))
        np.testing.assert_array_equal(got, expected[..., k])
    assert sum(bool(expected[..., k].any()) for k in range(hu.shape[2])) == 6


def test_non_dicom_input_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ct.nii.gz"
    write_image(path, np.zeros((8, 8, 8), np.int16), affine=np.eye(4))
    volume = read_image(path)
    with pytest.raises(InputError, match="needs a DICOM series"):
        write_dicom_seg(volume, np.zeros((8, 8, 8), np.uint8), NAMES, tmp_path / "x_seg.dcm")
    assert not (tmp_path / "x_seg.dcm").exists()
