"""Readers/writers per format: NIfTI (real LPS chest CT), NRRD, MHA/MHD, DICOM series; errors on bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from medvlseg.errors import InputError
from medvlseg.io import Volume, case_name, find_images, read_image, write_image
from medvlseg.io.dicom import write_dicom_series
from medvlseg.io.geometry import canonicalize, itk_to_affine



def _sitk_geometry(path: Path) -> tuple[np.ndarray, tuple, tuple, tuple]:
    """(array (k, j, i), spacing, origin, direction) as SimpleITK reads `path`."""
    img = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(img), img.GetSpacing(), img.GetOrigin(), img.GetDirection()


def test_real_lps_ct_round_trip_identical_for_nibabel_and_simpleitk(tmp_path, real_ct):
    vol = read_image(real_ct)
    assert vol.source.axcodes == ("L", "P", "S")
    assert nib.aff2axcodes(vol.affine) == ("R", "A", "S")
    out = write_image(tmp_path / "ct.nii.gz", vol.array, like=vol)
    src, dst = nib.load(real_ct), nib.load(out)
    assert dst.shape == src.shape
    np.testing.assert_array_equal(dst.affine, src.affine)
    np.testing.assert_array_equal(np.asarray(dst.dataobj), np.asarray(src.dataobj))
    assert dst.get_data_dtype() == src.get_data_dtype()
    a_src, *geo_src = _sitk_geometry(real_ct)
    a_dst, *geo_dst = _sitk_geometry(out)
    np.testing.assert_array_equal(a_dst, a_src)
    for g_dst, g_src in zip(geo_dst, geo_src):
        np.testing.assert_allclose(g_dst, g_src, atol=1e-4)
    # a uint8 label written "like" the CT lands on the CT's grid, in the CT's orientation
    label = (vol.array > 100).astype(np.uint8)
    lab = nib.load(write_image(tmp_path / "label.nii.gz", label, like=vol))
    assert lab.get_data_dtype() == np.uint8 and lab.shape == src.shape
    np.testing.assert_array_equal(lab.affine, src.affine)
    np.testing.assert_array_equal(np.asarray(lab.dataobj), (np.asarray(src.dataobj) > 100))


@pytest.fixture
def lps_volume() -> Volume:
    """A 32x40x36 int16 canonical volume stored as LPS, anisotropic spacing (mm)."""
    rng = np.random.default_rng(7)
    array = rng.integers(-1024, 2000, size=(32, 40, 36)).astype(np.int16)
    affine = np.diag([0.7, 0.8, 1.5, 1.0])
    affine[:3, 3] = [-10.0, 20.0, -30.0]
    return Volume.from_canonical(array, affine, "LPS")


@pytest.mark.parametrize("ext", [".nrrd", ".nhdr", ".mha", ".mhd", ".nii", ".nii.gz"])
def test_format_round_trip_keeps_voxels_and_geometry(tmp_path, lps_volume, ext):
    path = write_image(tmp_path / f"case_1{ext}", lps_volume.array, like=lps_volume)
    back = read_image(path)
    np.testing.assert_array_equal(back.array, lps_volume.array)
    np.testing.assert_allclose(back.affine, lps_volume.affine, atol=1e-6)
    assert back.source.axcodes == ("L", "P", "S")
    assert back.array.dtype == np.int16
    # SimpleITK agrees on the world geometry of the written file (LPS origin = RAS origin with x, y negated)
    a_itk, spacing, origin, direction = _sitk_geometry(path)
    np.testing.assert_allclose(itk_to_affine(spacing, origin, direction), lps_volume.source.affine, atol=1e-6)
    np.testing.assert_array_equal(a_itk.transpose(2, 1, 0), lps_volume.to_source())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp leftovers


@pytest.mark.parametrize("z_dir", [1.0, -1.0])
def test_dicom_series_geometry_survives(tmp_path, z_dir):
    rng = np.random.default_rng(5)
    array = rng.integers(-1000, 1000, size=(32, 34, 12)).astype(np.int16)  # ITK index order (i, j, k)
    spacing, origin = (0.75, 0.75, 2.0), (-100.5, -120.25, 50.0)
    direction = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, z_dir)
    write_dicom_series(tmp_path / "series", array, spacing, origin, direction)
    vol = read_image(tmp_path / "series")
    exp_canon, exp_affine, _ = canonicalize(array, itk_to_affine(spacing, origin, direction))
    np.testing.assert_array_equal(vol.array, exp_canon)
    np.testing.assert_allclose(vol.affine, exp_affine, atol=1e-4)
    assert vol.source.kind == "dicom"
    # a label for the DICOM series written as NIfTI lands on the same world grid
    out = write_image(tmp_path / "label.nii.gz", (vol.array > 0).astype(np.uint8), like=vol)
    back = read_image(out)
    np.testing.assert_allclose(back.affine, vol.affine, atol=1e-4)
    np.testing.assert_array_equal(back.array, vol.array > 0)


def test_truncated_and_non_image_files_raise_input_error(tmp_path, lps_volume):
    good = write_image(tmp_path / "good.nii.gz", lps_volume.array, like=lps_volume)
    truncated = tmp_path / "truncated.nii.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.nii"
    text.write_text("not an image\n")
    bad_gzip = tmp_path / "bad.nii.gz"
    bad_gzip.write_bytes(gzip.compress(b"garbage" * 10))
    bad_nrrd = tmp_path / "bad.nrrd"
    bad_nrrd.write_text("NRRD0004\ntype: nonsense\n\n")
    for path in (truncated, text, bad_gzip, bad_nrrd):
        with pytest.raises(InputError, match="cannot read image") as info:
            read_image(path)
        assert info.value.path == path
    with pytest.raises(InputError, match="file not found"):
        read_image(tmp_path / "missing.nii.gz")
    with pytest.raises(InputError, match="unsupported"):
        read_image(text.rename(tmp_path / "notes.txt"))


def test_4d_images(tmp_path):
    data4 = np.zeros((8, 9, 10, 3), dtype=np.float32)
    nib.save(nib.Nifti1Image(data4, np.eye(4)), tmp_path / "four.nii.gz")
    nib.save(nib.Nifti1Image(data4[..., :1], np.eye(4)), tmp_path / "single.nii.gz")
    with pytest.raises(InputError, match=r"expected a 3-D image, got shape \(8, 9, 10, 3\)"):
        read_image(tmp_path / "four.nii.gz")
    assert read_image(tmp_path / "four.nii.gz", require_3d=False).array.shape == (8, 9, 10, 3)
    assert read_image(tmp_path / "single.nii.gz").array.shape == (8, 9, 10)


def test_write_rejects_bad_extension_and_shape_without_partial_output(tmp_path, lps_volume):
    with pytest.raises(InputError, match="unsupported extension"):
        write_image(tmp_path / "out.png", lps_volume.array, like=lps_volume)
    with pytest.raises(ValueError, match="does not match"):
        write_image(tmp_path / "out.nii.gz", lps_volume.array[:-1], like=lps_volume)
    assert list(tmp_path.iterdir()) == []


def test_label_dtype_policy(tmp_path, lps_volume):
    labels = np.zeros(lps_volume.shape, dtype=np.int64)
    labels[3:5, 4:9, 2:3] = 2
    out = write_image(tmp_path / "lab.nii.gz", labels, like=lps_volume)
    assert nib.load(out).get_data_dtype() == np.uint8
    assert read_image(out).array.dtype == np.uint8
    hu = write_image(tmp_path / "f.nii.gz", lps_volume.array.astype(np.float64), like=lps_volume)
    assert nib.load(hu).get_data_dtype() == np.float32


def test_find_images_and_case_name(tmp_path, lps_volume):
    for name in ("b.nii.gz", "a.nrrd", "c.mha"):
        write_image(tmp_path / name, lps_volume.array, like=lps_volume)
    (tmp_path / "readme.txt").write_text("x")
    write_dicom_series(tmp_path / "d_series", lps_volume.to_source()[:, :, :3], (1, 1, 1), (0, 0, 0))
    (tmp_path / "empty_dir").mkdir()
    found = find_images(tmp_path)
    assert [p.name for p in found] == ["a.nrrd", "b.nii.gz", "c.mha", "d_series"]
    assert [case_name(p) for p in found] == ["a", "b", "c", "d_series"]
    assert case_name("x/case.001.NII.GZ") == "case.001"
    assert find_images(tmp_path / "d_series") == [tmp_path / "d_series"]
    with pytest.raises(InputError, match="not a folder"):
        find_images(tmp_path / "a.nrrd")


def test_nifti_scaling_applied_without_float64(tmp_path):
    raw = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4) * 100
    img = nib.Nifti1Image(raw, np.eye(4))
    img.header.set_slope_inter(1.0, -1024.0)
    nib.save(img, tmp_path / "ct.nii.gz")
    vol = read_image(tmp_path / "ct.nii.gz")
    assert vol.array.dtype == np.int16
    np.testing.assert_array_equal(vol.array, raw.astype(np.int32) - 1024)
    img.header.set_slope_inter(0.5, 10.0)
    nib.save(img, tmp_path / "f.nii.gz")
    vol = read_image(tmp_path / "f.nii.gz")
    assert vol.array.dtype == np.float32
    np.testing.assert_allclose(vol.array, raw * 0.5 + 10.0)


@pytest.mark.parametrize("ext", [".nii.gz", ".nrrd", ".mhd"])
def test_failed_write_leaves_no_partial_file(tmp_path, lps_volume, monkeypatch, ext):
    import medvlseg.io.image as image_mod

    def broken(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(image_mod, "_write_nifti", broken)
    monkeypatch.setattr(image_mod, "_write_itk", broken)
    with pytest.raises(OSError, match="disk full"):
        write_image(tmp_path / f"out{ext}", lps_volume.array, like=lps_volume)
    assert list(tmp_path.iterdir()) == []


def test_folder_without_dicom_is_input_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="no DICOM series found"):
        read_image(tmp_path)
