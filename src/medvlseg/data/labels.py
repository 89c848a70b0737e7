"""Label conversions: 3-class (1 artery, 2 vein) ↔ 5-class left/right (seed 002), and annotated flags."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

ANNOTATED = {"both": (True, True, True, True), "left": (True, True, False, False),
             "right": (False, False, True, True)}


def vessel_sides(label3: np.ndarray, lung: np.ndarray, spacing: tuple[float, ...] = (1.0, 1.0, 1.0),
                 max_voxels: int = 8_000_000) -> np.ndarray:
    """Side (uint8: 1 left, 2 right, 0 background) of each vessel voxel: its lung, else the nearest lung voxel (mm).

    The nearest-lung search (a distance transform with indices) runs on a grid subsampled to at most
    `max_voxels` voxels, which bounds its memory on 512³ CTs; voxels inside a lung keep that lung's side.
    """
    if label3.shape != lung.shape:
        raise ValueError(f"label shape {label3.shape} != lung map shape {lung.shape}")
    if not (lung > 0).any():
        raise ValueError("lung map is empty: cannot assign vessel sides")
    k = max(1, int(np.ceil((lung.size / max_voxels) ** (1.0 / 3.0))))
    coarse = lung[::k, ::k, ::k]
    if not (coarse > 0).any():
        coarse, k = lung, 1
    _, idx = ndimage.distance_transform_edt(coarse == 0, sampling=[s * k for s in spacing], return_indices=True)
    nearest = coarse[tuple(idx)]  # (X/k, Y/k, Z/k): side of the nearest lung voxel
    side = lung.astype(np.uint8)
    outside = (label3 > 0) & (lung == 0)
    pts = np.nonzero(outside)
    cpts = tuple(np.minimum(np.rint(p / k).astype(np.intp), n - 1) for p, n in zip(pts, coarse.shape))
    side[pts] = nearest[cpts]
    side[label3 == 0] = 0
    return side


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
