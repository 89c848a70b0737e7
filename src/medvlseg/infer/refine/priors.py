"""Anatomical priors of the segment labelling: the bronchus prior (arteries run beside airways) from the CT.

Airway lumen is air inside the lung: voxels of the smoothed CT below `lumen_hu` (HU) that are also darker than their
lung surroundings (mean of the lung-like voxels, < −500 HU, over `background_mm`: a box mean, O(1) per voxel) by
`contrast_hu`, so dependent or emphysematous parenchyma is not taken for lumen unless it is a dark tube. A vessel
segment is "beside an airway" when a lumen voxel lies within its own calibre + `reach_mm` of its skeleton.
Hand-written (scipy.ndimage filters and distance transforms): no maintained library detects airways label-free at
clinical resolutions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def airway_lumen(image: np.ndarray, vessels: np.ndarray, spacing: Sequence[float], lumen_hu: float = -900.0,
                 contrast_hu: float = 60.0, background_mm: float = 12.0) -> np.ndarray:
    """Boolean airway-lumen mask of a CT (HU; vessels: boolean vessel mask kept out of it; spacing in mm)."""
    sp = np.asarray(spacing, dtype=np.float64)
    smooth = ndimage.gaussian_filter(np.asarray(image, dtype=np.float32), sigma=0.7 / sp)
    size = tuple(max(3, int(round(background_mm / s)) | 1) for s in sp)
    lung = (smooth < -500.0).astype(np.float32)  # the mean is over lung-like voxels only: bright vessels and walls
    background = ndimage.uniform_filter(smooth * lung, size=size) / np.maximum(ndimage.uniform_filter(lung, size=size),
                                                                               1e-6)  # would fake a dark rim
    lumen = (smooth < lumen_hu) & (background - smooth > contrast_hu)
    return lumen & ~ndimage.binary_dilation(vessels, iterations=1)


def lumen_distance(image: np.ndarray, vessels: np.ndarray, spacing: Sequence[float], box: tuple[slice, ...],
                   margin_mm: float) -> np.ndarray | None:
    """Distance (mm) from the airway lumen on the `box` crop, lumen searched `margin_mm` beyond it; None if none."""
    sp = np.asarray(spacing, dtype=np.float64)
    pad = tuple(slice(max(0, b.start - int(np.ceil(margin_mm / s))), min(n, b.stop + int(np.ceil(margin_mm / s))))
                for b, s, n in zip(box, sp, image.shape))
    lumen = airway_lumen(image[pad], vessels[pad], sp)
    if not lumen.any():
        return None
    dist = ndimage.distance_transform_edt(~lumen, sampling=sp)
    return dist[tuple(slice(b.start - p.start, b.stop - p.start) for b, p in zip(box, pad))]


def block_min(values: np.ndarray, f: Sequence[int]) -> np.ndarray:
    """Minimum over blocks of `f` voxels per axis (edge blocks padded with +inf)."""
    f = [int(k) for k in f]
    shape = [-(-n // k) * k for n, k in zip(values.shape, f)]
    padded = np.full(shape, np.inf, dtype=np.float64)
    padded[tuple(slice(0, n) for n in values.shape)] = values
    blocks = padded.reshape(shape[0] // f[0], f[0], shape[1] // f[1], f[1], shape[2] // f[2], f[2])
    return blocks.min(axis=(1, 3, 5))


def beside_airway(segments: np.ndarray, n: int, radius_mm: np.ndarray, dist_mm: np.ndarray,
                  reach_mm: float = 3.0) -> np.ndarray:
    """(n,) fraction of each segment's skeleton voxels with airway lumen (`dist_mm`: distance from it, mm, on the
    segments' grid) within the segment's radius + `reach_mm` (mm)."""
    if n == 0:
        return np.zeros(0)
    on = segments > 0
    ids = segments[on].astype(np.int64) - 1
    near = dist_mm[on] <= radius_mm[ids] + reach_mm
    return np.bincount(ids, weights=near, minlength=n) / np.maximum(np.bincount(ids, minlength=n), 1)
