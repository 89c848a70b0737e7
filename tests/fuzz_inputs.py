"""Writers of hostile variants of one small CT for the fuzz table (tests/test_fuzz.py): each returns a path."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import nibabel as nib
import numpy as np


def save_nifti(path: Path, array: np.ndarray, affine: np.ndarray, codes: tuple[int, int] = (1, 1)) -> Path:
    """NIfTI with the given qform/sform codes (0, 0 = no orientation in the header)."""
    img = nib.Nifti1Image(array, affine)
    img.set_qform(affine if codes[0] else None, code=codes[0])
    img.set_sform(affine if codes[1] else None, code=codes[1])
    nib.save(img, str(path))
    return path


def with_values(ct: Path, out: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """Copy of `ct` as float32 with `change(array)` applied in place."""
    img = nib.load(str(ct))
    data = np.asarray(img.dataobj, dtype=np.float32).copy()
    change(data)
    return save_nifti(out, data, img.affine)


def lps_copy(ct: Path, out: Path) -> Path:
    """The same image stored in L-P-S voxel order (axes 0, 1 flipped, affine adjusted)."""
    img = nib.load(str(ct))
    data = np.asarray(img.dataobj)[::-1, ::-1].copy()
    flip = np.array([[-1, 0, 0, data.shape[0] - 1], [0, -1, 0, data.shape[1] - 1], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    return save_nifti(out, data, img.affine @ flip)


def itk_copy(ct: Path, out: Path) -> Path:
    """The same image as .nrrd/.mha (by `out`'s extension) through SimpleITK."""
    import SimpleITK as sitk

    sitk.WriteImage(sitk.ReadImage(str(ct)), str(out))
    return out


def scaled_copy(ct: Path, out: Path) -> Path:
    """uint16 storage with scl_inter = -1024 HU (as many scanners write)."""
    img = nib.load(str(ct))
    data = (np.asarray(img.dataobj).astype(np.int32) + 1024).astype(np.uint16)
    new = nib.Nifti1Image(data, img.affine)
    new.header.set_slope_inter(1.0, -1024.0)
    nib.save(new, str(out))
    return out


def reshaped(ct: Path, out: Path, shape_fn) -> Path:  # type: ignore[no-untyped-def]
    """Copy with the array reshaped by `shape_fn` (e.g. a singleton 4th axis, a 2-D slice)."""
    img = nib.load(str(ct))
    data = shape_fn(np.asarray(img.dataobj))
    nib.save(nib.Nifti1Image(data, img.affine), str(out))
    return out


def slab(ct: Path, out: Path, slices: int) -> Path:
    """The middle `slices` axial slices."""
    img = nib.load(str(ct))
    data = np.asarray(img.dataobj)
    z0 = data.shape[2] // 2 - slices // 2
    affine = img.affine.copy()
    affine[:3, 3] = (img.affine @ np.array([0, 0, z0, 1.0]))[:3]
    return save_nifti(out, data[:, :, z0:z0 + slices].copy(), affine)


def oblique(ct: Path, out: Path, degrees: float = 8.0) -> Path:
    """Copy whose affine is rotated by `degrees` about the z axis."""
    img = nib.load(str(ct))
    t = math.radians(degrees)
    rot = np.eye(4)
    rot[:2, :2] = [[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]
    return save_nifti(out, np.asarray(img.dataobj), rot @ img.affine)


def zero_spacing(ct: Path, out: Path) -> Path:
    """Copy whose header gives voxel size 0 along axis 2."""
    img = nib.load(str(ct))
    affine = img.affine.copy()
    affine[:3, 2] = 0.0
    new = nib.Nifti1Image(np.asarray(img.dataobj), None)
    new.set_sform(affine, code=2)  # the qform cannot hold a singular matrix; pixdim[3] stays 0 too
    new.header["pixdim"][3] = 0.0
    nib.save(new, str(out))
    return out


def truncated(ct: Path, out: Path) -> Path:
    """The gzip stream cut in half."""
    raw = ct.read_bytes()
    out.write_bytes(raw[: len(raw) // 2])
    return out


def dicom_copy(ct: Path, folder: Path) -> list[Path]:
    """The image as a DICOM series (LPS files, one per slice)."""
    from medvlseg.io import read_image
    from medvlseg.io.dicom import write_dicom_series

    vol = read_image(ct)
    lps = np.asarray(vol.array)[::-1, ::-1, :]
    corner = vol.affine @ np.array([vol.shape[0] - 1, vol.shape[1] - 1, 0, 1.0])
    return write_dicom_series(folder, lps, vol.spacing, (-corner[0], -corner[1], corner[2]))


def tilt_series(files: list[Path], degrees: float, step_mm: float) -> None:
    """Shear a series' ImagePositionPatient in-plane like a gantry tilt of `degrees`."""
    import pydicom

    shift = math.tan(math.radians(degrees)) * step_mm
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        pos = [float(v) for v in ds.ImagePositionPatient]
        pos[1] += k * shift
        ds.ImagePositionPatient = pos
        ds.save_as(f)


def strip_tags(files: list[Path], keywords: tuple[str, ...]) -> None:
    """Delete attributes (e.g. type-2 PatientBirthDate, as anonymisers do) from every file of a series."""
    import pydicom

    for f in files:
        ds = pydicom.dcmread(f)
        for kw in keywords:
            if kw in ds:
                delattr(ds, kw)
        ds.save_as(f)


def manifest(folder: Path, cases: list[dict]) -> Path:
    """A dataset.json with `cases` as its test split."""
    path = folder / "dataset.json"
    path.write_text(json.dumps({"name": "fuzz", "labels": {"0": "background", "1": "pulmonary artery",
                                                           "2": "pulmonary vein"}, "test": cases}), encoding="utf-8")
    return path


def gz_text(path: Path, text: str) -> Path:
    """A gzip file holding `text` (a .nii.gz that is not a NIfTI)."""
    path.write_bytes(gzip.compress(text.encode()))
    return path
