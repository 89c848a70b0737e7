"""Lung field-of-view cases built from the phantom generator: 4 mm whole thorax with touching lungs, crops."""

from __future__ import annotations

import numpy as np

from medvlseg.data.phantom.generator import PhantomCase, generate_case
from medvlseg.data.phantom.presets import get_preset

LUNG_HU = -850  # parenchyma painted into the junction, HU


def thorax_4mm(seed: int = 11) -> PhantomCase:
    """A whole-thorax contrast phantom at 4 mm isotropic (80 x 64 x 64 voxels, RAS+)."""
    cfg = get_preset("tiny", shape=(80, 64, 64), spacing_xy=(4.0, 4.0), spacing_z=(4.0, 4.0), body_fill=0.95)
    return generate_case(cfg, seed, contrast=True)


def touching(case: PhantomCase, anterior_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(HU, lung truth) with the lungs joined along an anterior junction line: in the most anterior
    `anterior_fraction` of the lungs, every row between the two lungs becomes parenchyma (split at its middle)."""
    hu, lung = case.image.copy(), case.lung.copy()
    cut = np.quantile(np.argwhere(lung > 0)[:, 1], 1.0 - anterior_fraction)
    for y in range(int(np.ceil(cut)), lung.shape[1]):
        for z in range(lung.shape[2]):
            left, right = np.flatnonzero(case.lung[:, y, z] == 1), np.flatnonzero(case.lung[:, y, z] == 2)
            if left.size and right.size and left.max() < right.min():
                a, b = int(left.max()) + 1, int(right.min())
                hu[a:b, y, z] = LUNG_HU
                lung[a:(a + b) // 2, y, z], lung[(a + b) // 2:b, y, z] = 1, 2
    return hu, lung


def half(array: np.ndarray, side: str) -> np.ndarray:
    """The patient's left (low axis 0) or right half of a canonical array."""
    mid = array.shape[0] // 2
    return array[:mid] if side == "left" else array[mid:]
