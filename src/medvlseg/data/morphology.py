"""Exact Euclidean erosion/dilation of boolean masks by a ball (radius in mm, anisotropic spacing), computed with
scipy's distance transform inside the mask's bounding box only (grown just enough to stay exact)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def bounding_box(mask: np.ndarray, pad: Sequence[int]) -> tuple[slice, ...] | None:
    """Bounding box (slices) of a mask's True voxels grown by `pad` voxels per axis (clipped), or None if empty."""
    box = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hit.size == 0:
            return None
        box.append(slice(max(0, int(hit[0]) - pad[axis]), min(mask.shape[axis], int(hit[-1]) + 1 + pad[axis])))
    return tuple(box)


def erode_ball(mask: np.ndarray, radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Exact erosion of a boolean mask by a ball of `radius_mm` mm (distance transform inside its bounding box
    + 1 voxel: the box's shell is background, so no voxel's nearest background lies further out)."""
    box = bounding_box(mask, (1,) * mask.ndim)
    if box is None:
        return mask
    out = np.zeros(mask.shape, dtype=bool)
    out[box] = ndimage.distance_transform_edt(mask[box], sampling=spacing) > radius_mm
    return out


def dilate_ball(mask: np.ndarray, radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Exact dilation of a boolean mask by a ball of `radius_mm` mm (distance transform inside its bounding box
    grown by the radius + 1 voxel: nothing outside lies within the radius)."""
    box = bounding_box(mask, [int(math.ceil(radius_mm / s)) + 1 for s in spacing])
    if box is None:
        return mask
    out = np.zeros(mask.shape, dtype=bool)
    out[box] = ndimage.distance_transform_edt(~mask[box], sampling=spacing) <= radius_mm
    return out
