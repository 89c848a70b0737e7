"""Read/write medical images as canonical RAS+ `Volume`s; writing goes back to the file's own geometry exactly.

NIfTI (.nii, .nii.gz) via nibabel; NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd) and DICOM series folders via
SimpleITK. The only hand-written pieces are the format dispatch and the dtype policy of `write_image`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medvlseg.errors import InputError
from medvlseg.io.checks import check_affine, warn_missing_orientation
from medvlseg.io.dicom import is_dicom_folder, read_dicom_series, short_message
from medvlseg.io.geometry import (SourceGeometry, affine_to_itk, canonicalize, itk_to_affine,
                                  source_from_canonical, spacing_of, to_source)
from medvlseg.utils.atomic import atomic_path

log = logging.getLogger(__name__)

NIFTI_EXTS = (".nii.gz", ".nii")
ITK_EXTS = (".seg.nrrd", ".nrrd", ".nhdr", ".mha", ".mhd")  # .seg.nrrd: 3D Slicer segmentation (io.segnrrd)
IMAGE_EXTS = NIFTI_EXTS + ITK_EXTS


@dataclass
class Volume:
    """A 3-D image in canonical RAS+ voxel order with its affine (voxel→RAS mm) and the file's own geometry."""

    array: np.ndarray
    affine: np.ndarray
    source: SourceGeometry
    path: Path | None = None

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Canonical voxel size in mm (axis 0, 1, 2)."""
        return spacing_of(self.affine)

    @property
    def shape(self) -> tuple[int, ...]:
        """Canonical array shape in voxels."""
        return tuple(self.array.shape)

    def to_source(self, array: np.ndarray | None = None) -> np.ndarray:
        """Map a canonical array on this grid (default: `self.array`) to the file's voxel order, exactly."""
        return to_source(self.array if array is None else array, self.source)

    def with_array(self, array: np.ndarray) -> Volume:
        """Same geometry, another canonical array of the same spatial shape (e.g. a label map)."""
        if tuple(array.shape[:3]) != self.shape[:3]:
            raise ValueError(f"array shape {array.shape} does not match the volume's {self.shape}")
        return Volume(array, self.affine, self.source, self.path)

    @classmethod
    def from_canonical(cls, array: np.ndarray, affine: np.ndarray, orientation: str | Sequence[str] = "RAS",
                       path: Path | None = None) -> Volume:
        """A volume from a canonical RAS+ array + affine (mm) that will be stored in `orientation` (e.g. "LPS")."""
        affine = np.asarray(affine, dtype=np.float64)
        from nibabel.orientations import aff2axcodes

        if tuple(aff2axcodes(affine)) != ("R", "A", "S"):
            raise ValueError(f"affine is not canonical RAS+ (axis codes {aff2axcodes(affine)})")
        return cls(array, affine, source_from_canonical(array.shape, affine, orientation), path)


def case_name(path: str | Path) -> str:
    """File name without its image extension (.nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd); folder name for DICOM."""
    name = Path(path).name
    for ext in IMAGE_EXTS:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def image_ext(path: str | Path) -> str:
    """The supported image extension of `path` (lower case) or "" if none."""
    name = Path(path).name.lower()
    return next((ext for ext in IMAGE_EXTS if name.endswith(ext)), "")


def find_images(folder: str | Path) -> list[Path]:
    """Sorted supported image files and DICOM series sub-folders in `folder` (the folder itself if it is one)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    found = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_file() and image_ext(child):
            found.append(child)
        elif child.is_dir() and is_dicom_folder(child):
            found.append(child)
    if not found and is_dicom_folder(folder):
        found.append(folder)
    return found


def read_image(path: str | Path, require_3d: bool = True, allow_gaps: bool = False) -> Volume:
    """Read a NIfTI/NRRD/MHA/MHD file or DICOM series folder as a canonical RAS+ `Volume` (values as stored);
    `allow_gaps` interpolates missing DICOM slices instead of refusing the series."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        array, spacing, origin, direction = read_dicom_series(path, allow_gaps)
        affine, kind, codes = itk_to_affine(spacing, origin, direction), "dicom", (1, 1)
    elif image_ext(path) in NIFTI_EXTS:
        array, affine, codes = _read_nifti(path)
        kind = "nifti"
    elif image_ext(path) in ITK_EXTS:
        array, affine = _read_itk(path)
        kind, codes = "itk", (1, 1)
    else:
        raise InputError(path, f"cannot read image: unsupported file type (expected one of {', '.join(IMAGE_EXTS)}"
                               " or a DICOM folder)")
    if array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    if array.ndim < 3 or (require_3d and array.ndim != 3):
        raise InputError(path, f"expected a 3-D image, got shape {tuple(array.shape)}")
    check_affine(affine, path)
    if kind == "nifti":
        warn_missing_orientation(*codes, path)
    canon, canon_affine, source = canonicalize(array, affine, kind, *codes)
    return Volume(canon, canon_affine, source, path)


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Array in file voxel order, affine (RAS mm) and (qform, sform) codes of a NIfTI file."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise ValueError(f"not a NIfTI image ({type(img).__name__})")
        array = _nifti_array(img.dataobj)
        qcode, scode = int(img.header["qform_code"]), int(img.header["sform_code"])
    except Exception as exc:  # nibabel/zlib/gzip raise ImageFileError, EOFError, zlib.error, OSError, ...
        raise InputError(path, f"cannot read image: {_describe(exc)}") from exc
    return array, np.asarray(img.affine, dtype=np.float64), (qcode, scode)


def _nifti_array(proxy: object) -> np.ndarray:
    """Voxel values with NIfTI scl_slope/scl_inter applied, without nibabel's float64 upcast where avoidable.

    Integer data with integer slope/intercept (e.g. CT stored as uint16 with intercept -1024 HU) stays integer
    (int16 if the scaled range fits, else int32); other scaled data become float32 instead of float64.
    """
    slope = float(getattr(proxy, "slope", 1.0))
    inter = float(getattr(proxy, "inter", 0.0))
    if slope == 1.0 and inter == 0.0 or not hasattr(proxy, "get_unscaled"):
        return np.asarray(proxy)
    raw = np.asarray(proxy.get_unscaled())  # type: ignore[attr-defined]
    if np.issubdtype(raw.dtype, np.integer) and slope.is_integer() and inter.is_integer() and raw.size:
        ends = [int(raw.min()) * int(slope) + int(inter), int(raw.max()) * int(slope) + int(inter)]
        for dtype in (np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= min(ends) and max(ends) <= info.max:
                out = raw.astype(dtype)
                if slope != 1.0:
                    out *= dtype(slope)
                out += dtype(inter)
                return out
    return raw.astype(np.float32) * np.float32(slope) + np.float32(inter)


def _read_itk(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Array in ITK index order (i, j, k[, c]) and RAS affine (mm) of an NRRD/MetaImage file."""
    import SimpleITK as sitk

    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise InputError(path, f"cannot read image: {short_message(exc)}") from exc
    dim = image.GetDimension()
    if dim != 3:
        raise InputError(path, f"expected a 3-D image, got a {dim}-D image of size {image.GetSize()}")
    array = sitk.GetArrayFromImage(image)  # (k, j, i[, c])
    axes = (2, 1, 0) + tuple(range(3, array.ndim))
    return array.transpose(axes), itk_to_affine(image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def _describe(exc: BaseException) -> str:
    """Short readable reason for a reader exception."""
    text = str(exc).strip().splitlines()
    return text[-1] if text and text[-1] else type(exc).__name__


def _output_dtype(array: np.ndarray, dtype: np.dtype | type | str | None) -> np.dtype:
    """dtype to store: explicit `dtype`, else bool/non-negative ints ≤ 255 → uint8 (labels), int64 → int32,
    float64 → float32, other dtypes unchanged."""
    if dtype is not None:
        return np.dtype(dtype)
    if array.dtype == bool:
        return np.dtype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.size and array.min() >= 0 and array.max() <= 255:
            return np.dtype(np.uint8)
        return np.dtype(np.int32) if array.dtype.itemsize > 4 else array.dtype
    if array.dtype == np.float64:
        return np.dtype(np.float32)
    return array.dtype


def write_image(path: str | Path, array: np.ndarray, like: Volume | None = None, affine: np.ndarray | None = None,
                orientation: str | Sequence[str] = "RAS", dtype: np.dtype | type | str | None = None) -> Path:
    """Write a canonical RAS+ array atomically in `like`'s original geometry (or `affine` mm + `orientation`).

    The format follows the extension (.nii.gz/.nii via nibabel, .nrrd/.nhdr/.mha/.mhd via SimpleITK).
    Label maps (bool, or ints in 0..255) are stored as uint8 unless `dtype` says otherwise.
    """
    path = Path(path)
    ext = image_ext(path)
    if not ext:
        raise InputError(path, f"cannot write image: unsupported extension (use one of {', '.join(IMAGE_EXTS)})")
    if like is not None:
        if tuple(array.shape[:3]) != tuple(like.array.shape[:3]):
            raise ValueError(f"array shape {array.shape} does not match the reference volume {like.array.shape}")
        source = like.source
    elif affine is not None:
        source = Volume.from_canonical(array, affine, orientation).source
    else:
        raise ValueError("write_image needs `like` (a Volume) or `affine` (canonical voxel→RAS mm)")
    if ext == ".seg.nrrd":  # a Slicer segmentation: generic segment names (infer.writers passes class names)
        from medvlseg.io.segnrrd import write_seg_nrrd

        values = [int(v) for v in np.unique(array) if v > 0]
        return write_seg_nrrd(path, array, source, [(v, f"label {v}", (128, 128, 128)) for v in values])
    data = to_source(np.asarray(array), source).astype(_output_dtype(array, dtype), copy=False)
    if ext in (".nhdr", ".mhd"):
        _write_detached(path, data, source.affine)
    else:
        with atomic_path(path) as tmp:
            if ext in NIFTI_EXTS:
                _write_nifti(tmp, data, source)
            else:
                _write_itk(tmp, data, source.affine)
    log.debug("wrote %s (%s, %s)", path, data.shape, data.dtype)
    return path


def _write_detached(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    """Header + data file pair (.nhdr/.mhd): write both in a temp folder beside `path`, then move data, header."""
    import shutil
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        _write_itk(tmp_dir / path.name, data, affine)
        header = tmp_dir / path.name
        for part in sorted(tmp_dir.iterdir(), key=lambda p: p == header):  # header last
            os.replace(part, path.parent / part.name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _write_nifti(path: Path, data: np.ndarray, source: SourceGeometry) -> None:
    """Write a NIfTI-1 file with sform and qform set to the source affine (codes kept, scanner if unset)."""
    import nibabel as nib

    img = nib.Nifti1Image(data, source.affine)
    img.set_sform(source.affine, code=source.sform_code or 1)
    img.set_qform(source.affine, code=source.qform_code or 1)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_data_dtype(data.dtype)
    nib.save(img, str(path))


def _write_itk(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    """Write an NRRD/MetaImage file (compressed) with LPS spacing, origin and direction from `affine`."""
    import SimpleITK as sitk

    spacing, origin, direction = affine_to_itk(affine)
    axes = (2, 1, 0) + tuple(range(3, data.ndim))
    image = sitk.GetImageFromArray(np.ascontiguousarray(data.transpose(axes)), isVector=data.ndim > 3)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    sitk.WriteImage(image, str(path), useCompression=True)
