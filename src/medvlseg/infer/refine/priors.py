"""Anatomical priors of the segment labelling: the bronchus prior (arteries run beside airways) from the CT.

Airway lumen is air inside the lung: voxels of the smoothed CT below `lumen_hu` (HU) that are also darker than their
lung surroundings (local median over `background_mm`) by `contrast_hu` — so parenchyma in a dependent or
emphysematous region is not taken for lumen unless it is a dark tube. A vessel segment is "beside an airway" when a
lumen voxel lies within its own calibre + `reach_mm` of its skeleton. Hand-written (scipy.ndimage filters and
distance transforms): no maintained library detects airways in a label-free way at clinical resolutions.
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
    background = ndimage.median_filter(smooth, size=size)
    lumen = (smooth < lumen_hu) & (background - smooth > contrast_hu)
    return lumen & ~ndimage.binary_dilation(vessels, iterations=1)


def beside_airway(segments: np.ndarray, n: int, radius_mm: np.ndarray, lumen: np.ndarray, spacing: Sequence[float],
                  reach_mm: float = 3.0) -> np.ndarray:
    """(n,) fraction of each segment's skeleton voxels with airway lumen within its radius + `reach_mm` (mm)."""
    if n == 0:
        return np.zeros(0)
    if not lumen.any():
        return np.zeros(n)
    dist = ndimage.distance_transform_edt(~lumen, sampling=np.asarray(spacing, dtype=np.float64))
    on = segments > 0
    ids = segments[on].astype(np.int64) - 1
    near = dist[on] <= radius_mm[ids] + reach_mm
    return np.bincount(ids, weights=near, minlength=n) / np.maximum(np.bincount(ids, minlength=n), 1)
