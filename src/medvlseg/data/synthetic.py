"""Tiny synthetic chest CTs for tests and benchmarks: two ellipsoid lungs, trachea, bronchi, bright vessels.

Canonical RAS+ voxel order: the patient's left lung sits at LOW axis-0 indices (lung label 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SyntheticChest:
    """HU image (int16), 3-class label (uint8: 1 artery, 2 vein), true lung map (uint8: 1 left, 2 right)."""

    hu: np.ndarray
    label: np.ndarray
    lung: np.ndarray
    spacing: tuple[float, float, float]


def _segment_mask(grid: tuple[np.ndarray, ...], a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Voxels within `radius` voxels of the segment a→b (voxel coordinates)."""
    ab = b - a
    rel = [g - c for g, c in zip(grid, a)]
    t = np.clip(sum(r * d for r, d in zip(rel, ab)) / float(ab @ ab), 0.0, 1.0)
    return sum((r - t * d) ** 2 for r, d in zip(rel, ab)) <= radius**2


def synthetic_chest(shape: tuple[int, int, int] = (48, 48, 40), spacing: tuple[float, float, float] = (2.0, 2.0, 2.0),
                    seed: int = 0, touching: bool = False, noise_hu: float = 20.0) -> SyntheticChest:
    """A seeded synthetic chest CT; `touching` moves the lungs together so they share a junction line."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    grid = tuple(np.asarray(g, dtype=np.float32) for g in np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"))
    x, y, z = grid
    hu = np.full(shape, -1000.0, dtype=np.float32)
    body = ((x - nx / 2) / (0.47 * nx)) ** 2 + ((y - ny / 2) / (0.42 * ny)) ** 2 <= 1.0
    hu[body] = 40.0
    lung = np.zeros(shape, dtype=np.uint8)
    offset = 0.16 if touching else 0.21
    for side, cx in ((1, 0.5 - offset), (2, 0.5 + offset)):
        ell = (((x - cx * nx) / (0.17 * nx)) ** 2 + ((y - 0.5 * ny) / (0.3 * ny)) ** 2
               + ((z - 0.45 * nz) / (0.38 * nz)) ** 2) <= 1.0
        lung[ell & (lung == 0)] = side
    hu[lung > 0] = -850.0
    label = np.zeros(shape, dtype=np.uint8)
    r_tube = max(1.0, 0.03 * nx)
    top = np.array([nx / 2, 0.5 * ny, nz - 1.0])
    carina = np.array([nx / 2, 0.5 * ny, 0.62 * nz])
    airway = _segment_mask(grid, top, carina, 1.6 * r_tube)
    for cx in (0.5 - offset, 0.5 + offset):
        lung_c = np.array([cx * nx, 0.5 * ny, 0.5 * nz])
        airway |= _segment_mask(grid, carina, lung_c, 1.2 * r_tube)
        for k, cls in enumerate((1, 2, 1, 2)):
            dy = (k - 1.5) * 0.12 * ny
            a = np.array([nx / 2 + np.sign(cx - 0.5) * 0.05 * nx, 0.5 * ny + dy, 0.45 * nz])  # hilum
            b = np.array([cx * nx + np.sign(cx - 0.5) * 0.08 * nx, 0.5 * ny + 1.6 * dy, (0.15 + 0.2 * k) * nz])
            label[_segment_mask(grid, a, b, r_tube) & (label == 0)] = cls
    hu[airway] = -1000.0
    hu[label == 1] = 250.0
    hu[label == 2] = 150.0
    hu += rng.normal(0.0, noise_hu, shape).astype(np.float32)
    return SyntheticChest(np.rint(hu).astype(np.int16), label, lung, spacing)
