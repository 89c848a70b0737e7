"""Which lung is which: two separate lungs, touching lungs (junction-line split) or one lung in view.

Input: the lung candidate mask of `medvlseg.data.lungs` on a canonical RAS+ grid (axis 0 → patient's Right)
and the HU image on that grid. Rules, in order:
1. two components side by side (centroids apart mainly along axis 0): the two lungs;
2. one large region: erode (Euclidean distance threshold) until two side-by-side seeds of comparable size
   appear, then grow them back by a watershed on the distance map (skimage), so the cut follows the thin
   anterior/posterior junction line;
3. one lung: its side comes from anatomy + orientation — the mediastinum (soft tissue, heart, great vessels,
   spine) lies medial to a lung, so a lung whose neighbouring tissue lies towards +x (patient's Right) is the
   left lung. When the tissue does not lie clearly to one side, the sides are undecidable (`sides=None`).
4. two lungs: sides follow the header (axis 0), checked against the heart, which lies left of the lungs' midline:
   a heart on the header's right gives a warning (mirrored header or dextrocardia), never a silent swap.
Hand-written: the rules themselves; cc3d, scipy and skimage do the image operations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cc3d
import numpy as np
from scipy import ndimage

log = logging.getLogger(__name__)

LEFT, RIGHT = 1, 2
TISSUE_HU = (-300.0, 3000.0)  # soft tissue, blood (contrast), bone: what surrounds a lung, HU
MIN_MEDIAL_MM = 10.0  # the tissue centroid must lie this far (mm) to one side of the lung centroid
FACE_TISSUE_HU = -500.0  # denser than lung and air (noise-proof at 60 HU σ): tissue on an image face, HU
JUNCTION_RATIO = 0.2  # both seeds of a junction split hold ≥ this fraction of the larger one's voxels
JUNCTION_DEPTH = 0.95  # ... and appear before eroding this fraction of the region's largest depth
HEART_HU = (-50.0, 600.0)  # heart wall and blood, plain or enhanced, HU (fat and contrast-dense bone excluded)
HEART_RIGHT_FRACTION = 0.025  # heart centroid this fraction of the lung separation towards the header's Right: warn


@dataclass
class LungResult:
    """Lung mask (bool), sides (uint8 0 / 1 left / 2 right, or None when undecidable) and how they were found."""

    mask: np.ndarray
    sides: np.ndarray | None
    how: str


def _centroid_mm(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Centroid of a boolean mask in mm (voxel index × spacing), from its three axis projections (no index list)."""
    total = float(np.count_nonzero(mask))
    if total == 0:
        return np.full(mask.ndim, np.nan)
    centre = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        profile = np.count_nonzero(mask, axis=others)
        centre.append(float(np.dot(profile, np.arange(mask.shape[axis]))) / total)
    return np.asarray(centre) * np.asarray(spacing, dtype=np.float64)


def side_by_side(a: np.ndarray, b: np.ndarray, spacing: Sequence[float]) -> bool:
    """True when the centroids of masks `a` and `b` lie apart mainly along axis 0 (left-right), mm."""
    d = np.abs(_centroid_mm(a, spacing) - _centroid_mm(b, spacing))
    return bool(d[0] > np.hypot(d[1], d[2]))


def _by_x(first: np.ndarray, second: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Side map from two lung masks: the one at lower axis-0 (patient's left in RAS+) is LEFT."""
    left_first = _centroid_mm(first, spacing)[0] < _centroid_mm(second, spacing)[0]
    sides = np.zeros(first.shape, dtype=np.uint8)
    sides[first] = LEFT if left_first else RIGHT
    sides[second] = RIGHT if left_first else LEFT
    return sides


def _components(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """cc3d labels and (label, voxels) of all components, largest first."""
    labels = cc3d.connected_components(mask, connectivity=6)
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    order = [int(i) for i in np.argsort(counts)[::-1] if counts[i] > 0]
    return labels, [(i, int(counts[i])) for i in order]


def _partner(labels: np.ndarray, comps: list[tuple[int, int]], spacing: Sequence[float],
             min_ratio: float) -> int | None:
    """Label of the largest component beside the largest one (side by side, ≥ min_ratio of its size)."""
    first = labels == comps[0][0]
    for lab, count in comps[1:]:
        if count < min_ratio * comps[0][1]:
            break
        if side_by_side(first, labels == lab, spacing):
            return lab
    return None


def split_junction(region: np.ndarray, spacing: Sequence[float], min_ratio: float) -> np.ndarray | None:
    """Split one region into two side-by-side lungs along its thinnest junction; side map or None if it is one."""
    from skimage.segmentation import watershed

    depth = ndimage.distance_transform_edt(region, sampling=spacing)
    for radius in np.linspace(0.0, JUNCTION_DEPTH * float(depth.max()), 16)[1:]:
        labels, comps = _components(depth > radius)
        if len(comps) < 2:
            continue
        a, b = labels == comps[0][0], labels == comps[1][0]
        if comps[1][1] < max(min_ratio, JUNCTION_RATIO) * comps[0][1] or not side_by_side(a, b, spacing):
            continue
        markers = a.astype(np.int32) + 2 * b.astype(np.int32)
        grown = watershed(-depth, markers=markers, mask=region)
        log.debug("touching lungs split after eroding %.1f mm", radius)
        return _by_x(grown == 1, grown == 2, spacing)
    return None


def _face_side(hu: np.ndarray) -> tuple[int | None, str]:
    """Side from the field of view: one axis-0 face lies beyond the body (outside air only), the other cuts
    through the body (the mediastinum); the lung lies on the side of the first (lateral) face."""
    body = [float(np.mean(hu[i] > FACE_TISSUE_HU)) for i in (0, -1)]  # tissue fraction of the low/high x face
    for lateral, medial in ((0, 1), (1, 0)):
        if body[lateral] < 0.15 and body[medial] > 0.3:
            side = LEFT if lateral == 0 else RIGHT  # lateral face at low x = the patient's left
            return side, (f"one lung in view; the image is cut through the body on the patient's "
                          f"{'right' if side == LEFT else 'left'} only, so it is the "
                          f"{'left' if side == LEFT else 'right'} lung")
    return None, ""


def one_lung_side(lung: np.ndarray, hu: np.ndarray, spacing: Sequence[float]) -> tuple[int | None, str]:
    """Side of a single lung: from a field-of-view cut through the mediastinum, else from where the surrounding
    tissue lies (tissue centroid vs lung centroid along axis 0, in the lung's slices)."""
    zs = np.flatnonzero(lung.any(axis=(0, 1)))
    slab = (slice(None), slice(None), slice(int(zs.min()), int(zs.max()) + 1))
    side, how = _face_side(hu[slab])
    if side is not None:
        return side, how
    tissue = (hu[slab] > TISSUE_HU[0]) & (hu[slab] < TISSUE_HU[1]) & ~lung[slab]
    if not tissue.any():
        return None, "no tissue beside the lung to tell medial from lateral"
    offset = float(_centroid_mm(tissue, spacing)[0] - _centroid_mm(lung[slab], spacing)[0])  # mm, + = towards R
    if abs(offset) < MIN_MEDIAL_MM:
        return None, (f"one lung in view and the surrounding tissue lies within {MIN_MEDIAL_MM:g} mm of it "
                      f"left-right ({offset:+.0f} mm), so medial cannot be told from lateral")
    side = LEFT if offset > 0 else RIGHT
    return side, f"one lung in view; mediastinum {abs(offset):.0f} mm towards the patient's " \
                 f"{'right' if offset > 0 else 'left'}, so it is the {'left' if side == LEFT else 'right'} lung"


def heart_offset(sides: np.ndarray, hu: np.ndarray, spacing: Sequence[float]) -> float | None:
    """Left-right offset of the heart from the lungs' midline, as a fraction of the lung separation (+ = towards
    the header's patient Right; a normal heart is negative). Heart = soft tissue and blood between the lungs'
    centroids in the anterior half and inferior half of the lungs (the spine and aorta are posterior).

    Measured: normal anatomy -0.05 (4 mm phantom), -0.03 (the real CTA crop); the same images mirrored +0.05,
    +0.03 — so a positive offset beyond HEART_RIGHT_FRACTION flags a mirrored header (or dextrocardia).
    """
    zs = np.flatnonzero(sides.any(axis=(0, 1)))
    lower = slice(int(zs.min()), int(zs.min()) + max(1, (int(zs.max()) + 1 - int(zs.min())) // 2))
    part = sides[:, :, lower]
    if not ((part == LEFT).any() and (part == RIGHT).any()):
        return None
    x_left, x_right = _centroid_mm(part == LEFT, spacing)[0], _centroid_mm(part == RIGHT, spacing)[0]
    ys = np.flatnonzero(part.any(axis=(0, 2)))
    front = slice((int(ys.min()) + int(ys.max())) // 2, int(ys.max()) + 1)  # anterior half (RAS+: +y anterior)
    x_mm = np.arange(hu.shape[0]) * float(spacing[0])
    between = (x_mm > min(x_left, x_right)) & (x_mm < max(x_left, x_right))
    sub = hu[:, front, lower]
    heart = (sub > HEART_HU[0]) & (sub < HEART_HU[1]) & (part[:, front] == 0) & between[:, None, None]
    if not heart.any():
        return None
    centre = float(_centroid_mm(heart, spacing)[0])
    return (centre - (x_left + x_right) / 2.0) / abs(x_right - x_left)


def _check_laterality(result: LungResult, hu: np.ndarray, spacing: Sequence[float]) -> LungResult:
    """Warn (and say so in `how`) when the heart lies on the header's patient-right: sides still follow the header."""
    offset = heart_offset(result.sides, hu, spacing) if result.sides is not None else None
    if offset is None or offset <= HEART_RIGHT_FRACTION:
        return result
    msg = (f"the heart lies on the patient's right by the image header (offset {offset:+.2f} of the lung "
           "separation): dextrocardia, or a header whose left-right is mirrored; left/right labels follow the header")
    log.warning(msg)
    return LungResult(result.mask, result.sides, f"{result.how}; {msg}")


def split_sides(lungs: np.ndarray, hu: np.ndarray, spacing: Sequence[float], min_ratio: float = 0.1) -> LungResult:
    """Lung mask + sides of the lung candidate mask `lungs` (bool) on the grid of `hu` (HU), spacing mm."""
    labels, comps = _components(lungs)
    partner = _partner(labels, comps, spacing, min_ratio)
    first = labels == comps[0][0]
    if partner is not None:
        second = labels == partner
        return _check_laterality(LungResult(first | second, _by_x(first, second, spacing), "two separate lungs"),
                                 hu, spacing)
    sides = split_junction(first, spacing, min_ratio)
    if sides is not None:
        return _check_laterality(LungResult(first, sides, "touching lungs split at the junction line"), hu, spacing)
    side, how = one_lung_side(first, hu, spacing)
    if side is None:
        return LungResult(first, None, how)
    return LungResult(first, (first * side).astype(np.uint8), how)
