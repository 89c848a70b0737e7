"""Left/right side of every voxel, for scoring half-labeled cases and 3→5-class ground truth conversion.

Preferred: the lung map of the case's CT (`medvlseg.data.lungs.lung_map`, canonical RAS+, HU), each vessel voxel
taking its lung's side or that of the nearest lung voxel (`medvlseg.data.labels.vessel_sides`). Fallback (no CT
given, or no two lungs found): the sagittal **midline plane of the bounding box of the vessel voxels of gt ∪ pred**
along canonical axis 0 (RAS+: the patient's left is at low axis-0 indices). The union, rather than the gt alone
as in issue 6, because a half-labeled gt covers only one side, so its own box centre lies inside that lung.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medvlseg.data.labels import vessel_sides
from medvlseg.data.lungs import LungSplitError, lung_map
from medvlseg.errors import InputError
from medvlseg.io import read_image

log = logging.getLogger(__name__)

LEFT, RIGHT = 1, 2


def midline_sides(vessels: np.ndarray) -> np.ndarray:
    """Side map (uint8: 1 left, 2 right, 0 elsewhere) of `vessels` voxels split at their box's axis-0 midline."""
    side = np.zeros(vessels.shape, dtype=np.uint8)
    hit = np.flatnonzero(vessels.any(axis=(1, 2)))  # axis-0 indices holding vessels
    if hit.size == 0:
        return side
    mid = 0.5 * (hit[0] + hit[-1])  # voxels; a voxel exactly on the plane goes left
    x = np.arange(vessels.shape[0])[:, None, None]  # (X, 1, 1)
    side[vessels & (x <= mid)] = LEFT
    side[vessels & (x > mid)] = RIGHT
    return side


def lung_sides(vessels: np.ndarray, image: Path, spacing: Sequence[float]) -> np.ndarray | None:
    """Side map of `vessels` voxels from the lungs of the CT at `image` (same grid), or None if that fails."""
    try:
        ct = read_image(image)
    except InputError as exc:
        log.warning("%s; using the vessel-box midline", exc)
        return None
    if ct.shape != vessels.shape:
        log.warning("%s: CT shape %s differs from the label's %s; using the vessel-box midline",
                    image, ct.shape, vessels.shape)
        return None
    try:
        lung = lung_map(np.asarray(ct.array, dtype=np.float32), spacing, where=str(image))
    except LungSplitError as exc:
        log.warning("%s; using the vessel-box midline", exc)
        return None
    return vessel_sides(vessels.astype(np.uint8), lung, tuple(float(s) for s in spacing))


def side_map(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float], image: Path | None = None) -> np.ndarray:
    """Side (uint8: 1 left, 2 right) of every vessel voxel of `pred` ∪ `gt` (label maps, canonical RAS+)."""
    vessels = (np.asarray(pred) > 0) | (np.asarray(gt) > 0)
    if image is not None:
        sides = lung_sides(vessels, image, spacing)
        if sides is not None:
            return sides
    return midline_sides(vessels)
