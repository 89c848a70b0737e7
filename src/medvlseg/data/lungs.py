"""Classical lung segmentation and left/right split on canonical RAS+ CT arrays (HU), any field of view.

Pipeline (all on a ~`work_mm` grid for speed, upsampled by nearest neighbour at the end):
air = HU < threshold → cc3d components → drop pure-air (mean < -950 HU) components touching the side faces
(outside the body; lungs cut by the field of view touch them too but are denser) → closing by `close_mm`
and in-plane hole filling (vessels join the lungs) → opening by a ball of radius `airway_mm` (exact, via
Euclidean distance transforms) removes the trachea and main bronchi → lung regions (`medvlseg.data.lung_sides`):
two side-by-side components, or one region split at its anterior/posterior junction line (erosion to two
seeds + watershed on the distance map), or one lung whose side comes from anatomy (the mediastinum is medial)
and the image orientation; when no rule decides, the lung mask is returned without sides. In canonical RAS+
arrays the patient's left lung is at LOW axis-0 indices: label 1 = left, 2 = right.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import cc3d
import numpy as np
from scipy import ndimage

from medvlseg.data.lung_sides import LEFT, RIGHT, LungResult, split_sides
from medvlseg.data.morphology import bounding_box, dilate_ball, erode_ball

log = logging.getLogger(__name__)

class LungSplitError(ValueError):
    """No lung is in view (or, for `lung_map`, its sides cannot be decided)."""


def _stride(spacing: Sequence[float], work_mm: float) -> tuple[int, int, int]:
    """Integer subsampling per axis so that the working voxel size is about `work_mm` mm."""
    return tuple(max(1, int(math.floor(work_mm / s + 1e-6))) for s in spacing)  # type: ignore[return-value]


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


def _fill_inplane(side: np.ndarray) -> np.ndarray:
    """Fill holes (vessels, nodules) of each lung within each axial slice."""
    out = np.zeros_like(side)
    inplane = np.zeros((3, 3, 3), dtype=bool)
    inplane[:, :, 1] = ndimage.generate_binary_structure(2, 1)
    box = bounding_box(side > 0, (1, 1, 0))  # a background ring keeps the outside connected to each slice's border
    if box is None:
        return out
    crop, dest = side[box], out[box]
    for k in np.unique(crop[crop > 0]):
        filled = ndimage.binary_fill_holes(crop == k, structure=inplane)
        dest[filled & (dest == 0)] = k
    return out


def _thin_lungs(air: np.ndarray, opened: np.ndarray, hu: np.ndarray, spacing: Sequence[float],
                min_ml: float = 10.0, outside_hu: float = -950.0) -> np.ndarray:
    """Air components the opening removed whole (thin lung bases/apices): ≥ `min_ml` ml, mean ≥ `outside_hu` HU
    (lung parenchyma, not gas), not touching the opened lungs (the trachea and bronchi do)."""
    labels = cc3d.connected_components(air & ~opened, connectivity=6)
    if labels.max() == 0:
        return np.zeros_like(air)
    flat = labels.ravel()
    counts = np.bincount(flat)
    means = np.bincount(flat, weights=np.asarray(hu, dtype=np.float64).ravel()) / np.maximum(counts, 1)
    touching = np.unique(labels[dilate_ball(opened, max(spacing), spacing) & (labels > 0)])
    voxel_ml = float(np.prod(spacing)) / 1000.0
    keep = (counts * voxel_ml >= min_ml) & (means >= outside_hu)
    keep[0] = False
    keep[touching] = False
    whole = keep[labels]
    return whole


def lung_regions(hu: np.ndarray, spacing: Sequence[float], threshold: float = -400.0, airway_mm: float = 10.0,
                 close_mm: float = 4.0, work_mm: float = 2.0, min_ratio: float = 0.1,
                 where: str = "image") -> LungResult:
    """Lung mask and sides (`LungResult`) of a canonical RAS+ CT in HU; spacing, radii in mm.

    Raises LungSplitError (naming `where`) only when no lung is in view; undecidable sides give `sides=None`.
    """
    stride = _stride(spacing, work_mm)
    small = hu[::stride[0], ::stride[1], ::stride[2]]
    sp = tuple(float(s) * k for s, k in zip(spacing, stride))
    air = air_inside_body(small, threshold)
    air = _fill_inplane(erode_ball(dilate_ball(air, close_mm, sp), close_mm, sp).astype(np.uint8)) > 0  # vessels in
    lungs = dilate_ball(erode_ball(air, airway_mm, sp), airway_mm, sp) & air  # opening: trachea, bronchi go
    lungs |= _thin_lungs(air, lungs, small, sp)
    if not lungs.any():
        raise LungSplitError(f"{where}: no lung in view (no air below {threshold:g} HU inside the body)")
    result = split_sides(lungs, small, sp, min_ratio)
    mask = _fill_inplane(result.mask.astype(np.uint8)) > 0
    sides = _fill_inplane(result.sides) if result.sides is not None else None
    if stride != (1, 1, 1):
        idx = [np.minimum(np.rint(np.arange(n) / k).astype(np.intp), m - 1)
               for n, k, m in zip(hu.shape, stride, mask.shape)]
        mask = mask[np.ix_(*idx)]
        sides = sides[np.ix_(*idx)] if sides is not None else None
    return LungResult(mask, sides, result.how)


def lung_map(hu: np.ndarray, spacing: Sequence[float], threshold: float = -400.0, airway_mm: float = 10.0,
             close_mm: float = 4.0, work_mm: float = 2.0, min_ratio: float = 0.1, where: str = "image") -> np.ndarray:
    """Lung map (uint8: 0 outside, 1 left, 2 right) of a canonical RAS+ CT in HU; spacing, radii in mm.

    Raises LungSplitError (naming `where`) when no lung is in view or its sides cannot be decided.
    """
    result = lung_regions(hu, spacing, threshold, airway_mm, close_mm, work_mm, min_ratio, where)
    if result.sides is None:
        raise LungSplitError(f"{where}: lung found but its side (left/right) cannot be decided: {result.how}")
    return result.sides
