"""Checks of inputs and output paths made before any work: each failure is one `InputError` naming the file.

Image checks: finite voxel values (or an explicit fill with a warning), plausible CT values (HU), positive
voxel spacing (mm), a NIfTI orientation that the header states (warning otherwise), enough voxels per axis for
the network. Path checks: the output is not the input, has an image extension, is not a folder, and its folder
can be written. Case names must make safe file names. Hand-written: these are project policies, not algorithms.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medvlseg.errors import InputError

log = logging.getLogger(__name__)

HU_FLOOR = -10_000.0  # below this no CT stores Hounsfield units (padding is -1024, -2048 or -3024 HU)
MIN_PATCH, MAX_PATCH = 16, 512  # voxels: the smallest window a 3-level U-Net can use; the largest sensible one
MAX_NAME = 128  # characters in a case name (file names add suffixes; most file systems allow 255 bytes)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def nonfinite_count(array: np.ndarray) -> int:
    """Number of NaN/±inf voxels (0 for integer arrays)."""
    if not np.issubdtype(array.dtype, np.floating):
        return 0
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def check_finite(array: np.ndarray, where: str | Path, fill: bool = False) -> np.ndarray:
    """The array, or an error naming the count of NaN/inf voxels; `fill` replaces them by the finite minimum."""
    bad = nonfinite_count(array)
    if not bad:
        return array
    if not fill:
        raise InputError(where, f"{bad} voxel(s) are NaN or infinite; fix the image or pass --fill-nonfinite")
    finite = np.isfinite(array)
    if not finite.any():
        raise InputError(where, "every voxel is NaN or infinite")
    value = float(array[finite].min())
    log.warning("%s: %d NaN/infinite voxel(s) filled with the image minimum %g", where, bad, value)
    return np.where(finite, array, np.asarray(value, dtype=array.dtype))


def check_hu_range(array: np.ndarray, where: str | Path) -> None:
    """Error when values lie far below any CT range (< HU_FLOOR): not Hounsfield units, or a corrupt band."""
    low = float(np.min(array)) if array.size else 0.0
    if low < HU_FLOOR:
        count = int(np.count_nonzero(array < HU_FLOOR))
        raise InputError(where, f"{count} voxel(s) below {HU_FLOOR:g} HU (minimum {low:g}): not a CT in "
                                "Hounsfield units (check rescale slope/intercept) or a corrupt region")


def check_affine(affine: np.ndarray, where: str | Path) -> None:
    """Error when the voxel→world affine is non-finite or a voxel size (column norm, mm) is zero."""
    affine = np.asarray(affine, dtype=np.float64)
    if not np.isfinite(affine).all():
        raise InputError(where, "the header's voxel-to-world matrix has NaN/infinite entries")
    sizes = np.linalg.norm(affine[:3, :3], axis=0)
    if (sizes <= 1e-6).any():
        raise InputError(where, f"voxel spacing must be positive, header gives {tuple(round(float(s), 6) for s in sizes)} mm")
    if abs(np.linalg.det(affine[:3, :3])) <= 1e-9 * float(np.prod(sizes)):
        raise InputError(where, "the header's voxel axes are degenerate (parallel direction vectors)")


def warn_missing_orientation(qform_code: int, sform_code: int, where: str | Path) -> None:
    """Warn that a NIfTI without qform and sform is oriented by nibabel's guess (voxel sizes only, RAS+)."""
    if qform_code == 0 and sform_code == 0:
        log.warning("%s: NIfTI header has neither qform nor sform: orientation unknown, assuming the voxel axes "
                    "are R, A, S (left/right may be wrong)", where)


def check_extent(shape: Sequence[int], minimum: int, where: str | Path) -> None:
    """Error when an axis of the working grid has fewer than `minimum` voxels (the network's context)."""
    small = [(axis, int(n)) for axis, n in enumerate(shape) if int(n) < minimum]
    if small:
        axes = ", ".join(f"axis {a}: {n}" for a, n in small)
        raise InputError(where, f"too few voxels for the network ({axes}; need ≥ {minimum} per axis on the "
                                "working grid): a thin slab or a single slice cannot be segmented")


def check_case_name(name: str, where: str | Path) -> None:
    """Error unless `name` is a safe file name: letters, digits, . _ + -, not starting with a dot, ≤ MAX_NAME."""
    if not name or len(name) > MAX_NAME or not _SAFE_NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise InputError(where, f"case name {shown!r} is not a safe file name (1-{MAX_NAME} characters from "
                                "A-Z a-z 0-9 . _ + -, not starting with '.')")


def same_file(a: Path, b: Path) -> bool:
    """True when paths `a` and `b` name the same file or folder (resolved, or same inode)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        return False
    return a.resolve() == b.resolve()


def check_writable_folder(folder: Path, where: str | Path) -> None:
    """Error unless `folder` (or its nearest existing ancestor) is a folder a file can be created in."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(where, f"cannot write here: {probe} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise InputError(where, f"cannot write into {probe}: {exc.strerror or exc}") from exc


def check_output_file(inp: Path, out: Path, exts: Sequence[str]) -> None:
    """A single output file: not the input, not a folder, a supported extension, a writable folder."""
    if same_file(inp, out):
        raise InputError(out, "output would replace the input; choose another -o (refused even with --overwrite)")
    if out.is_dir():
        raise InputError(out, "is a folder; give a label-map file name for a single input")
    if not any(out.name.lower().endswith(e) for e in exts):
        raise InputError(out, f"unsupported output extension (use one of {', '.join(exts)})")
    check_writable_folder(out.parent, out)


def check_output_folder(inp: Path, out: Path) -> None:
    """An output folder: not a file, not the input folder itself, writable."""
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder (many inputs need an output folder)")
    if same_file(inp, out):
        raise InputError(out, "output folder is the input folder; choose another -o")
    check_writable_folder(out, out)


def checked_volume(volume: Any, where: str | Path, fill_nonfinite: bool = False, ct: bool = True) -> Any:
    """`volume` after the voxel checks (finite values, or filled with a warning; HU range when `ct`)."""
    array = check_finite(np.asarray(volume.array), where, fill_nonfinite)
    if ct:
        check_hu_range(array, where)
    return volume if array is volume.array else volume.with_array(array)


MAX_LABELS = 64  # distinct foreground values a label map may hold (medvlseg writes ≤ 5; atlases a few dozen)


def check_label_map(array: np.ndarray, where: str | Path) -> None:
    """Error unless `array` looks like a label map: integer values in 0..255, at most MAX_LABELS of them."""
    if array.size == 0:
        raise InputError(where, "empty image")
    if not np.issubdtype(array.dtype, np.integer):
        finite = np.isfinite(array).all()
        if not finite or not np.array_equal(array, np.round(array)):
            raise InputError(where, "not a label map (non-integer values): give a segmentation, not an image")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 255:
        raise InputError(where, f"not a label map (values {low:g}..{high:g}, expected 0..255): is this a CT?")
    count = int(np.count_nonzero(np.bincount(array.astype(np.int64).ravel())[1:]))
    if count > MAX_LABELS:
        raise InputError(where, f"not a label map ({count} distinct values, at most {MAX_LABELS} expected)")


def check_patch_size(value: Any, where: str | Path, divisor: int = 16, name: str = "patch_size",
                     multiple: bool = True) -> int | list[int]:
    """A patch size (int or 3 ints, voxels) in [max(MIN_PATCH, divisor), MAX_PATCH], a multiple of `divisor`
    when `multiple` (training patches; sliding windows round up)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if isinstance(value, (list, tuple)) and len(values) != 3:
        raise InputError(where, f"{name} must be one integer or 3 integers (voxels), got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(where, f"{name} must be an integer number of voxels, got {v!r}")
        low = max(MIN_PATCH, divisor)
        if not low <= v <= MAX_PATCH or (multiple and v % divisor):
            need = f"a multiple of the network's size divisor {divisor} " if multiple else ""
            raise InputError(where, f"{name} {v} is not usable: need {need}between {low} and {MAX_PATCH} voxels")
    return list(values) if isinstance(value, (list, tuple)) else int(value)
