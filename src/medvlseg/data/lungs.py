"""Classical lung segmentation and left/right split on canonical RAS+ CT arrays (HU).

Pipeline (all on a ~`work_mm` grid for speed, upsampled by nearest neighbour at the end):
air = HU < threshold → cc3d components → drop pure-air (mean < -950 HU) components touching the side faces
(outside the body; lungs cut by the field of view touch them too but are denser) → closing by `close_mm`
and in-plane hole filling (vessels join the lungs) → opening by a ball of radius
`airway_mm` (exact, via Euclidean distance transforms) removes the trachea and main bronchi → the two largest
components, or, when the lungs touch, erosion (distance threshold) until two seeds appear, every lung voxel
then joining its nearest seed (split along the anterior junction line) → in-plane hole filling. In canonical
RAS+ arrays the patient's left lung is at LOW axis-0 indices: label 1 = left, 2 = right.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cc3d
import numpy as np
from scipy import ndimage

log = logging.getLogger(__name__)

LEFT, RIGHT = 1, 2


class LungSplitError(ValueError):
    """No two lungs could be found in the image."""


def _stride(spacing: Sequence[float], work_mm: float) -> tuple[int, int, int]:
    """Integer subsampling per axis so that the working voxel size is about `work_mm` mm."""
    return tuple(max(1, int(math.floor(work_mm / s + 1e-6))) for s in spacing)  # type: ignore[return-value]


def _erode(mask: np.ndarray, radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Exact erosion of a boolean mask by a ball of `radius_mm` mm."""
    if not mask.any():
        return mask
    return ndimage.distance_transform_edt(mask, sampling=spacing) > radius_mm


def _dilate(mask: np.ndarray, radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Exact dilation of a boolean mask by a ball of `radius_mm` mm."""
    if not mask.any():
        return mask
    return ndimage.distance_transform_edt(~mask, sampling=spacing) <= radius_mm


def air_inside_body(hu: np.ndarray, threshold: float = -400.0, outside_hu: float = -950.0) -> np.ndarray:
    """Boolean mask of voxels darker than `threshold` HU, without the air outside the body.

    Outside air = components touching a side face (axes 0, 1) whose mean is below `outside_hu` HU (pure air
    ~ -1000 HU); lungs cut by a tight field of view also touch the side faces but average ~ -850 HU.
    """
    air = hu < threshold
    labels = cc3d.connected_components(air, connectivity=6)
    border = np.concatenate([labels[0].ravel(), labels[-1].ravel(), labels[:, 0].ravel(), labels[:, -1].ravel()])
    touching = np.unique(border[border > 0])
    if touching.size == 0:
        return air
    flat = labels.ravel()
    sums = np.bincount(flat, weights=np.asarray(hu, dtype=np.float64).ravel())
    counts = np.maximum(np.bincount(flat), 1)
    outside = touching[(sums[touching] / counts[touching]) < outside_hu]
    return air & ~np.isin(labels, outside)


def _largest(labels: np.ndarray, k: int) -> list[tuple[int, int]]:
    """The `k` largest (label, voxel count) pairs of a cc3d label image, largest first."""
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    order = np.argsort(counts)[::-1][:k]
    return [(int(i), int(counts[i])) for i in order if counts[i] > 0]


def _two_seeds(mask: np.ndarray, spacing: Sequence[float], min_ratio: float) -> np.ndarray | None:
    """cc3d labels of two comparable lung seeds (others zeroed), eroding until they separate; None if never."""
    depth = ndimage.distance_transform_edt(mask, sampling=spacing)
    for radius in np.linspace(0.0, float(depth.max()), 25)[:-1]:
        labels = cc3d.connected_components(depth > radius, connectivity=6)
        top = _largest(labels, 2)
        if len(top) == 2 and top[1][1] >= min_ratio * top[0][1]:
            keep = np.zeros(labels.max() + 1, dtype=np.uint8)
            keep[top[0][0]], keep[top[1][0]] = 1, 2
            if radius > 0:
                log.debug("lungs separated after eroding %.1f mm", radius)
            return keep[labels]
    return None


def _assign_sides(mask: np.ndarray, seeds: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Label every mask voxel with its nearest seed, then map seeds to 1 = left (low axis 0), 2 = right."""
    _, idx = ndimage.distance_transform_edt(seeds == 0, sampling=spacing, return_indices=True)
    nearest = seeds[tuple(idx)]
    nearest[~mask] = 0
    x = np.arange(mask.shape[0], dtype=np.float64)[:, None, None]
    mean_x = [float((x * (nearest == k)).sum() / max(1, (nearest == k).sum())) for k in (1, 2)]
    if mean_x[0] > mean_x[1]:  # seed 1 is further right → swap
        nearest = np.choose(nearest, [0, 2, 1]).astype(np.uint8)
    return nearest.astype(np.uint8)


def _check_side_by_side(side: np.ndarray, spacing: Sequence[float], where: str) -> None:
    """Raise LungSplitError unless the two lungs' centroids lie apart mainly along the left-right axis."""
    c = [np.argwhere(side == k).mean(axis=0) * np.asarray(spacing) for k in (LEFT, RIGHT)]
    d = np.abs(c[1] - c[0])  # mm
    if d[0] <= np.hypot(d[1], d[2]):
        raise LungSplitError(f"{where}: the two largest air regions are not side by side (centroids "
                             f"{d[0]:.0f} mm apart left-right, {np.hypot(d[1], d[2]):.0f} mm otherwise); "
                             "is only one lung in the field of view?")


def _fill_inplane(side: np.ndarray) -> np.ndarray:
    """Fill holes (vessels, nodules) of each lung within each axial slice."""
    out = np.zeros_like(side)
    inplane = np.zeros((3, 3, 3), dtype=bool)
    inplane[:, :, 1] = ndimage.generate_binary_structure(2, 1)
    for k in np.unique(side[side > 0]):
        filled = ndimage.binary_fill_holes(side == k, structure=inplane)
        out[filled & (out == 0)] = k
    return out


def lung_map(hu: np.ndarray, spacing: Sequence[float], threshold: float = -400.0, airway_mm: float = 10.0,
             close_mm: float = 4.0, work_mm: float = 2.0, min_ratio: float = 0.1, where: str = "image") -> np.ndarray:
    """Lung map (uint8: 0 outside, 1 left, 2 right) of a canonical RAS+ CT in HU; spacing, radii in mm.

    Raises LungSplitError (naming `where`) when no two lungs can be found.
    """
    stride = _stride(spacing, work_mm)
    small = hu[::stride[0], ::stride[1], ::stride[2]]
    sp = tuple(float(s) * k for s, k in zip(spacing, stride))
    air = air_inside_body(small, threshold)
    air = _fill_inplane(_erode(_dilate(air, close_mm, sp), close_mm, sp).astype(np.uint8)) > 0  # vessels in
    lungs = _dilate(_erode(air, airway_mm, sp), airway_mm, sp) & air  # opening: trachea, bronchi go
    if not lungs.any():
        raise LungSplitError(f"{where}: no lung found (no air below {threshold:g} HU inside the body)")
    labels = cc3d.connected_components(lungs, connectivity=6)
    top = _largest(labels, 2)
    if len(top) == 2 and top[1][1] >= min_ratio * top[0][1]:
        seeds = np.zeros(labels.max() + 1, dtype=np.uint8)
        seeds[top[0][0]], seeds[top[1][0]] = 1, 2
        seeds = seeds[labels]
        lungs = seeds > 0
    else:  # one big component: the lungs touch (anterior/posterior junction line)
        lungs = labels == top[0][0]
        seeds = _two_seeds(lungs, sp, min_ratio)
        if seeds is None:
            raise LungSplitError(f"{where}: found one lung region but could not split it into left and right")
    side = _fill_inplane(_assign_sides(lungs, seeds, sp))
    _check_side_by_side(side, sp, where)
    if stride == (1, 1, 1):
        return side
    idx = [np.minimum(np.rint(np.arange(n) / k).astype(np.intp), m - 1) for n, k, m in zip(hu.shape, stride, side.shape)]
    return side[np.ix_(*idx)]
