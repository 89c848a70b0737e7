"""DICOM series folders via SimpleITK/GDCM: find, read (LPS → RAS affine) and write a series slice by slice."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medvlseg.errors import InputError

log = logging.getLogger(__name__)


def series_files(folder: str | Path, warn: bool = False) -> list[str]:
    """File names of the largest DICOM series in `folder` (empty list if it holds none); `warn` logs when the
    folder holds several series (only the reader does, so the warning appears once per read)."""
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader
    ids = reader.GetGDCMSeriesIDs(str(folder)) or ()
    best: list[str] = []
    for sid in ids:
        files = list(reader.GetGDCMSeriesFileNames(str(folder), sid))
        if len(files) > len(best):
            best = files
    if warn and len(ids) > 1:
        log.warning("%s holds %d DICOM series; reading the largest (%d slices)", folder, len(ids), len(best))
    return best


def is_dicom_folder(folder: str | Path) -> bool:
    """True if `folder` is a directory holding at least one DICOM series."""
    return Path(folder).is_dir() and bool(series_files(folder))


def read_dicom_series(folder: str | Path, allow_gaps: bool = False) -> tuple[np.ndarray, tuple[float, ...],
                                                                           tuple[float, ...], tuple[float, ...]]:
    """Read a DICOM series folder: array in ITK index order (i, j, k), LPS spacing mm, origin mm, direction.

    Slice positions are checked (`medvlseg.io.dicom_grid`): a gap is an error unless `allow_gaps`; a gantry
    tilt is resampled onto an orthogonal grid with a warning.
    """
    from medvlseg.io.dicom_grid import check_and_regrid, slice_positions

    import SimpleITK as sitk

    files = series_files(folder, warn=True)
    if not files:
        raise InputError(folder, "cannot read image: no DICOM series found in this folder")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    reader.MetaDataDictionaryArrayUpdateOn()
    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # ITK's raw non-uniformity warning; dicom_grid explains it
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(folder, f"cannot read image: {short_message(exc)}") from exc
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)
    array = sitk.GetArrayFromImage(image).transpose(2, 1, 0)  # (k, j, i) → (i, j, k)
    positions = slice_positions(reader, len(files)) if array.shape[2] == len(files) else None
    if positions is None:
        return array, image.GetSpacing(), image.GetOrigin(), image.GetDirection()
    return check_and_regrid(array, image.GetSpacing(), image.GetOrigin(), image.GetDirection(), positions, files,
                            folder, allow_gaps)


def write_dicom_series(folder: str | Path, array: np.ndarray, spacing: Sequence[float], origin: Sequence[float],
                       direction: Sequence[float] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
                       modality: str = "CT") -> list[Path]:
    """Write an int16 (HU) array in ITK index order (i, j, k) as one DICOM file per slice k; LPS geometry in mm."""
    import SimpleITK as sitk

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.asarray(array, dtype=np.int16).transpose(2, 1, 0)))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetOrigin(tuple(float(o) for o in origin))
    image.SetDirection(tuple(float(d) for d in direction))
    uid = f"1.2.826.0.1.3680043.2.1125.{int(time.time() * 1e3)}"
    d = image.GetDirection()
    orientation = "\\".join(f"{v:.10g}" for v in (d[0], d[3], d[6], d[1], d[4], d[7]))
    tags = {"0008|0060": modality, "0020|000d": uid + ".1", "0020|000e": uid + ".2",
            "0020|0037": orientation, "0028|0030": f"{spacing[1]:.10g}\\{spacing[0]:.10g}",
            "0018|0050": f"{spacing[2]:.10g}", "0008|0008": "DERIVED\\SECONDARY",
            "0010|0010": "PHANTOM^SYNTHETIC", "0020|0052": uid + ".4", "0010|0020": "0", "0028|1052": "0", "0028|1053": "1"}
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    paths = []
    for k in range(image.GetDepth()):
        slc = image[:, :, k]
        for tag, value in tags.items():
            slc.SetMetaData(tag, value)
        pos = image.TransformIndexToPhysicalPoint((0, 0, k))
        slc.SetMetaData("0020|0032", "\\".join(f"{p:.10g}" for p in pos))
        slc.SetMetaData("0020|0013", str(k + 1))
        slc.SetMetaData("0008|0018", f"{uid}.3.{k + 1}")
        path = folder / f"slice_{k:04d}.dcm"
        writer.SetFileName(str(path))
        writer.Execute(slc)
        paths.append(path)
    return paths


def short_message(exc: BaseException) -> str:
    """Last non-empty line of an exception message (ITK puts the reason last in multi-line messages)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
