"""Canonical RAS+ reorientation is exact both ways; ITK LPS ↔ RAS affines agree with SimpleITK's own maths."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from medvlseg.io import Volume, read_image, write_image
from medvlseg.io.geometry import affine_to_itk, canonicalize, itk_to_affine, parse_axcodes, to_source

ORIENTATIONS = ["RAS", "LPS", "PIR", "SLA", "ILP", "ARI"]


def _canonical_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random int16 canonical array (32x36x40 voxels) and a RAS+ affine with anisotropic spacing (mm)."""
    rng = np.random.default_rng(seed)
    array = rng.integers(-1000, 1500, size=(32, 36, 40)).astype(np.int16)
    affine = np.diag([0.8, 0.9, 1.25, 1.0])
    affine[:3, 3] = [-120.5, -98.25, 301.0]
    return array, affine


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_from_canonical_written_in_orientation_reads_back_identical(tmp_path, orientation):
    array, affine = _canonical_case()
    vol = Volume.from_canonical(array, affine, orientation)
    path = write_image(tmp_path / "img.nii.gz", array, like=vol)
    img = nib.load(path)
    assert nib.aff2axcodes(img.affine) == tuple(orientation)
    back = read_image(path)
    assert back.source.axcodes == tuple(orientation)
    np.testing.assert_array_equal(back.array, array)
    np.testing.assert_allclose(back.affine, affine, atol=1e-5)
    np.testing.assert_array_equal(back.to_source(), np.asarray(img.dataobj))
    # world position of voxel (1, 2, 3) in the file equals the canonical voxel that holds the same value
    src = np.asarray(img.dataobj)
    world = img.affine @ [1, 2, 3, 1]
    canon_idx = np.round(np.linalg.solve(back.affine, world)).astype(int)[:3]
    assert src[1, 2, 3] == back.array[tuple(canon_idx)]


def test_write_with_affine_and_orientation_string(tmp_path):
    array, affine = _canonical_case(1)
    path = write_image(tmp_path / "lps.nii.gz", array, affine=affine, orientation="LPS")
    assert nib.aff2axcodes(nib.load(path).affine) == ("L", "P", "S")
    np.testing.assert_array_equal(read_image(path).array, array)


def test_canonicalize_then_to_source_is_identity_for_oblique_affine():
    rng = np.random.default_rng(3)
    array = rng.normal(size=(10, 12, 14)).astype(np.float32)
    theta = np.deg2rad(12.0)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([-0.7, 1.1, -2.0])  # L, A, I -ish axes, slightly oblique
    affine[:3, 3] = [5.0, -3.0, 40.0]
    canon, canon_aff, source = canonicalize(array, affine)
    assert nib.aff2axcodes(canon_aff) == ("R", "A", "S")
    np.testing.assert_array_equal(to_source(canon, source), array)
    # every voxel keeps its world position
    idx = np.array([2, 5, 7, 1.0])
    val = array[2, 5, 7]
    canon_idx = np.round(np.linalg.solve(canon_aff, affine @ idx)).astype(int)[:3]
    assert canon[tuple(canon_idx)] == val


def test_itk_affine_matches_simpleitk_physical_points():
    image = sitk.Image(7, 8, 9, sitk.sitkUInt8)
    image.SetSpacing((0.6, 0.75, 2.5))
    image.SetOrigin((-11.0, 22.5, -300.0))
    direction = np.array([[0, 0, 1], [1, 0, 0], [0, -1, 0]], dtype=float)
    image.SetDirection(tuple(direction.ravel()))
    affine = itk_to_affine(image.GetSpacing(), image.GetOrigin(), image.GetDirection())
    for index in [(0, 0, 0), (3, 1, 7), (6, 7, 8)]:
        lps = np.array(image.TransformIndexToPhysicalPoint(index))
        ras = (affine @ [*index, 1])[:3]
        np.testing.assert_allclose(ras, lps * [-1, -1, 1], atol=1e-9)
    spacing, origin, dirs = affine_to_itk(affine)
    np.testing.assert_allclose(spacing, image.GetSpacing())
    np.testing.assert_allclose(origin, image.GetOrigin())
    np.testing.assert_allclose(dirs, image.GetDirection(), atol=1e-12)


def test_parse_axcodes_rejects_invalid():
    assert parse_axcodes("lps") == ("L", "P", "S")
    for bad in ["LLS", "RA", "XYZ", "RASI"]:
        with pytest.raises(ValueError):
            parse_axcodes(bad)


def test_from_canonical_rejects_non_canonical_affine():
    array, affine = _canonical_case()
    with pytest.raises(ValueError, match="not canonical"):
        Volume.from_canonical(array, np.diag([-1.0, 1.0, 1.0, 1.0]) @ affine)
