"""Probabilities → label map: threshold/argmax, 5→3 merge, small-component removal (cc3d), lung restriction.

Hand-written here: the rule "a voxel takes the most probable class among those above the threshold" for
sigmoid (multi-label) models, and the lung-region rule (keep a class component only if it touches the lung
mask dilated by a margin, so mediastinal trunks attached to intrapulmonary vessels survive). cc3d does the
connected components; scipy's Euclidean distance transform does the mm-accurate dilation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cc3d
import numpy as np
from scipy import ndimage

log = logging.getLogger(__name__)


def threshold_labels(probs: np.ndarray, activation: str, threshold: float = 0.5) -> np.ndarray:
    """Probabilities (K', X, Y, Z) → uint8 labels (X, Y, Z): 0 background, k+1 for model class k."""
    if activation == "softmax":
        return np.argmax(probs, axis=0).astype(np.uint8)  # channel 0 = background
    best = np.argmax(probs, axis=0)  # (X, Y, Z) most probable foreground class
    peak = np.take_along_axis(probs, best[None], axis=0)[0]
    return np.where(peak >= threshold, best + 1, 0).astype(np.uint8)


def merge_probabilities(probs: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """(K, X, Y, Z) foreground probabilities → (G, X, Y, Z) by taking the max over each group of channels."""
    return np.stack([probs[list(g)].max(axis=0) for g in groups])


def remove_small_components(labels: np.ndarray, spacing: Sequence[float], min_mm3: float,
                            connectivity: int = 26) -> np.ndarray:
    """Drop connected components (per class, cc3d) smaller than `min_mm3` cubic mm; returns a new array."""
    if min_mm3 <= 0 or not labels.any():
        return labels.copy()
    voxel_mm3 = float(np.prod(spacing))
    min_voxels = int(np.ceil(min_mm3 / voxel_mm3))
    return cc3d.dust(np.ascontiguousarray(labels), threshold=min_voxels, connectivity=connectivity, in_place=False)


def dilate_mm(mask: np.ndarray, margin_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Binary mask grown by `margin_mm` (Euclidean, anisotropic spacing in mm)."""
    if margin_mm <= 0:
        return mask.astype(bool)
    dist = ndimage.distance_transform_edt(~mask.astype(bool), sampling=tuple(float(s) for s in spacing))
    return dist <= margin_mm


def restrict_to_region(labels: np.ndarray, region: np.ndarray, connectivity: int = 26) -> np.ndarray:
    """Keep only the per-class components of `labels` that overlap `region` (bool, same shape)."""
    if not labels.any():
        return labels.copy()
    comps = cc3d.connected_components(np.ascontiguousarray(labels), connectivity=connectivity)  # per class
    touching = np.unique(comps[region & (comps > 0)])
    keep = np.isin(comps, touching) & (comps > 0)
    return np.where(keep, labels, 0).astype(labels.dtype)


def lung_region(lung: np.ndarray | None, spacing: Sequence[float], margin_mm: float = 10.0) -> np.ndarray | None:
    """Lung map dilated by `margin_mm` (bool, mm), or None: restriction off (no map, margin < 0) or map empty (warned)."""
    if lung is None or margin_mm < 0:
        return None
    if not lung.any():
        log.warning("lung map is empty: predictions are not restricted to the lung region")
        return None
    return dilate_mm(lung > 0, margin_mm, spacing)


def postprocess_labels(labels: np.ndarray, spacing: Sequence[float], min_mm3: float = 0.0,
                       region: np.ndarray | None = None) -> np.ndarray:
    """Small-component removal (mm³ on `spacing`, mm) then, if a `region` (bool, same grid) is given, restriction."""
    out = remove_small_components(labels, spacing, min_mm3)
    return out if region is None else restrict_to_region(out, region)
