"""Slice-position checks of a DICOM series: missing slices (gaps) and gantry tilt, from ImagePositionPatient.

SimpleITK reads a series as if its slices were uniform and stacked along the normal of ImageOrientationPatient:
a missing slice only logs an ITK warning and a tilted series (slice origins sheared in-plane) is placed up to
several cm off. Here a gap is an error naming the two files around it (or, with `allow_gaps`, the missing
slices are interpolated linearly, with a warning), and a tilted series is resampled onto an orthogonal grid
(each slice shifted in-plane by its own origin, as dcm2niix does), with a warning. Hand-written: GDCM/ITK
expose no such regridding; dcm2niix is a separate executable.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from medvlseg.errors import InputError

log = logging.getLogger(__name__)

GAP_FACTOR = 1.5  # a step larger than this × the median slice step is a gap
TILT_TOL_MM = 0.05  # in-plane drift of slice origins (mm over the series) below which no tilt is assumed


def _axes(direction: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and normal unit vectors (LPS) of an ITK row-major 3x3 direction."""
    d = np.asarray(direction, dtype=np.float64).reshape(3, 3)
    return d[:, 0], d[:, 1], d[:, 2]


def check_and_regrid(array: np.ndarray, spacing: Sequence[float], origin: Sequence[float],
                     direction: Sequence[float], positions: np.ndarray, files: Sequence[str], folder: str | Path,
                     allow_gaps: bool = False) -> tuple[np.ndarray, tuple, tuple, tuple]:
    """(array (i, j, k), spacing, origin, direction) on a uniform orthogonal grid; InputError on a gap."""
    if len(positions) < 2:
        return array, tuple(spacing), tuple(origin), tuple(direction)
    r, c, n = _axes(direction)
    rel = positions - positions[0]
    z, u, v = rel @ n, rel @ r, rel @ c
    steps = np.diff(z)
    step = float(np.median(steps))
    if step <= 1e-6:
        raise InputError(folder, "slices share one position (duplicate or unsorted ImagePositionPatient)")
    if (steps < step / GAP_FACTOR).any():
        k = int(np.argmin(steps))
        raise InputError(folder, f"slices {Path(files[k]).name} and {Path(files[k + 1]).name} are only "
                                 f"{steps[k]:.2f} mm apart (median step {step:.2f} mm): duplicate or overlapping slices")
    gaps = np.flatnonzero(steps > GAP_FACTOR * step)
    tilt = max(np.ptp(u), np.ptp(v)) > TILT_TOL_MM
    if gaps.size and not allow_gaps:
        k = int(gaps[0])
        raise InputError(folder, f"missing slice(s): a {steps[k]:.2f} mm gap between {Path(files[k]).name} and "
                                 f"{Path(files[k + 1]).name} (median step {step:.2f} mm, {gaps.size} gap(s)); "
                                 "pass --allow-gaps to interpolate across it")
    if not gaps.size and not tilt:
        return array, (spacing[0], spacing[1], step), tuple(origin), tuple(direction)
    if gaps.size:
        log.warning("%s: %d gap(s) in the slice positions (largest %.2f mm, median step %.2f mm): interpolating "
                    "the missing slices linearly (--allow-gaps)", folder, gaps.size, float(steps.max()), step)
    if tilt:
        angle = math.degrees(math.atan2(float(np.hypot(u[-1] - u[0], v[-1] - v[0])), float(z[-1] - z[0])))
        log.warning("%s: gantry tilt of %.1f° (slice origins drift in-plane): resampled onto an orthogonal grid "
                    "(as dcm2niix does); the output is on that grid", folder, angle)
    out, new_origin = _regrid(array, spacing, z, u, v, step, np.asarray(positions[0]), r, c)
    return out, (float(spacing[0]), float(spacing[1]), step), tuple(float(o) for o in new_origin), tuple(direction)


def _regrid(array: np.ndarray, spacing: Sequence[float], z: np.ndarray, u: np.ndarray, v: np.ndarray,
            step: float, p0: np.ndarray, r: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift each slice in-plane by its origin (u, v mm), then interpolate linearly onto z = 0, step, … (mm)."""
    dx, dy = float(spacing[0]), float(spacing[1])
    pad_i, pad_j = int(math.ceil(np.ptp(u) / dx - 1e-6)), int(math.ceil(np.ptp(v) / dy - 1e-6))
    ni, nj, nk = array.shape
    fill = float(array.min())
    canvases = np.full((ni + pad_i, nj + pad_j, nk), fill, dtype=np.float32)
    for k in range(nk):
        canvas = np.full(canvases.shape[:2], fill, dtype=np.float32)
        canvas[:ni, :nj] = array[:, :, k]
        shift = ((u[k] - u.min()) / dx, (v[k] - v.min()) / dy)
        canvases[:, :, k] = ndimage.shift(canvas, shift, order=1, mode="constant", cval=fill)
    target = np.arange(int(round(float(z[-1]) / step)) + 1) * step
    hi = np.clip(np.searchsorted(z, target, side="right"), 1, nk - 1)
    lo = hi - 1
    w = np.clip((target - z[lo]) / np.maximum(z[hi] - z[lo], 1e-9), 0.0, 1.0).astype(np.float32)
    out = canvases[:, :, lo] * (1 - w) + canvases[:, :, hi] * w
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(array.dtype)
    origin = p0 + u.min() * r + v.min() * c
    return out, origin


def slice_positions(reader: object, count: int) -> np.ndarray | None:
    """(K, 3) ImagePositionPatient (LPS mm) per slice from a SimpleITK series reader with metadata; None if absent."""
    out = []
    for k in range(count):
        if not reader.HasMetaDataKey(k, "0020|0032"):  # type: ignore[attr-defined]
            return None
        text = reader.GetMetaData(k, "0020|0032")  # type: ignore[attr-defined]
        try:
            out.append([float(t) for t in text.strip().split("\\")[:3]])
        except ValueError:
            return None
    arr = np.asarray(out, dtype=np.float64)
    return arr if arr.shape == (count, 3) and np.isfinite(arr).all() else None
