"""Label conversions: 3-class (1 artery, 2 vein) ↔ 5-class left/right (seed 002), and annotated flags."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

ANNOTATED = {"both": (True, True, True, True), "left": (True, True, False, False),
             "right": (False, False, True, True)}


def vessel_sides(label3: np.ndarray, lung: np.ndarray, spacing: tuple[float, ...] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Side (uint8: 1 left, 2 right, 0 background) of each vessel voxel: its lung, else the nearest lung voxel (mm)."""
    if label3.shape != lung.shape:
        raise ValueError(f"label shape {label3.shape} != lung map shape {lung.shape}")
    if not (lung > 0).any():
        raise ValueError("lung map is empty: cannot assign vessel sides")
    _, idx = ndimage.distance_transform_edt(lung == 0, sampling=spacing, return_indices=True)
    side = lung[tuple(idx)]  # nearest lung voxel's side everywhere (itself inside the lungs)
    side[label3 == 0] = 0
    return side.astype(np.uint8)


def to_five_class(label3: np.ndarray, lung: np.ndarray, spacing: tuple[float, ...] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """5-class label (uint8: 1 L artery, 2 L vein, 3 R artery, 4 R vein) from 3-class + lung map (1 L, 2 R)."""
    label3 = np.asarray(label3)
    bad = np.setdiff1d(np.unique(label3), [0, 1, 2])
    if bad.size:
        raise ValueError(f"3-class label holds unexpected values {bad.tolist()}")
    out = label3.astype(np.uint8)
    if not out.any():
        return out
    side = vessel_sides(out, lung, spacing)
    out[side == 2] += 2
    return out


def to_three_class(label5: np.ndarray) -> np.ndarray:
    """Merge a 5-class label (1..4) into 3 classes (uint8: 1 artery, 2 vein)."""
    lut = np.array([0, 1, 2, 1, 2], dtype=np.uint8)
    label5 = np.asarray(label5)
    if label5.size and int(label5.max()) > 4:
        raise ValueError(f"5-class label holds values above 4 (max {int(label5.max())})")
    return lut[label5]


def annotated_flags(annotated: str) -> np.ndarray:
    """bool[4] over (L artery, L vein, R artery, R vein) from a manifest's annotated ∈ {both, left, right}."""
    if annotated not in ANNOTATED:
        raise ValueError(f"annotated must be one of {sorted(ANNOTATED)}, got {annotated!r}")
    return np.array(ANNOTATED[annotated], dtype=bool)
