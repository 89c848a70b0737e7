"""Things real chests have that are neither artery nor vein: solid nodules, ground-glass opacities,
consolidation, emphysema, pleural effusion, calcified lymph nodes, bronchial wall thickening.

Each is drawn per case with probability `rate` (config), as spheres/blobs (mm) inside the lungs (nodes: beside the
hila), and applied to the tissue slab before the tubes are painted, so vessels keep running through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.anatomy import Anatomy, sample_lung_points

KINDS = ("nodule", "ground_glass", "consolidation", "emphysema", "effusion", "calcified_node", "wall_thickening")


@dataclass
class Distractors:
    """Blobs (tissue, centre mm, radius mm), effusion depth per side (mm, 0 = none), emphysema cut, wall factor."""

    blobs: list[tuple[int, np.ndarray, float]] = field(default_factory=list)
    effusion: np.ndarray = field(default_factory=lambda: np.zeros(2))
    emphysema: float = 0.0  # fraction of upper-lung parenchyma destroyed (0 = none)
    wall_factor: float = 1.0  # airway outer radius multiplier (bronchial wall thickening)

    def summary(self) -> dict:
        """JSON-able description for the case meta."""
        counts: dict[str, int] = {}
        for tid, _, _ in self.blobs:
            counts[T.NAMES[tid]] = counts.get(T.NAMES[tid], 0) + 1
        return {"blobs": counts, "effusion_mm": self.effusion.round(1).tolist(),
                "emphysema": round(self.emphysema, 3), "wall_factor": round(self.wall_factor, 3)}


def draw_distractors(anat: Anatomy, rate: float, rng: np.random.Generator) -> Distractors:
    """Draw each distractor kind with probability `rate` (0 disables all)."""
    s = anat.scale
    d = Distractors()
    on = {kind: bool(rng.uniform() < rate) for kind in KINDS}
    sides = [int(rng.integers(1, 3))]

    def lung_points(n: int) -> np.ndarray:
        return sample_lung_points(anat, sides[0], max(n, 1), rng)[:n]

    if on["nodule"]:
        for c in lung_points(int(rng.integers(1, 5))):
            d.blobs.append((T.NODULE, c, float(rng.uniform(1.5, 10.0)) * s))
    if on["ground_glass"]:
        for c in lung_points(int(rng.integers(1, 4))):
            d.blobs.append((T.GROUND_GLASS, c, float(rng.uniform(8.0, 25.0)) * s))
    if on["consolidation"]:
        c = lung_points(1)[0]
        d.blobs.append((T.CONSOLIDATION, c, float(rng.uniform(12.0, 30.0)) * s))
    if on["calcified_node"]:
        for _ in range(int(rng.integers(1, 4))):
            hil = anat.hilum[int(rng.integers(2))]
            d.blobs.append((T.CALCIFICATION, hil + rng.normal(0, 8.0, 3) * s, float(rng.uniform(1.5, 4.0)) * s))
    if on["effusion"]:
        d.effusion = np.where(rng.uniform(size=2) < 0.6, rng.uniform(8, 35, 2) * s, 0.0)
    if on["emphysema"]:
        d.emphysema = float(rng.uniform(0.05, 0.3))
    if on["wall_thickening"]:
        d.wall_factor = float(rng.uniform(1.15, 1.5))
    return d


def apply_distractors(d: Distractors, anat: Anatomy, tissue: np.ndarray, side: np.ndarray, points: np.ndarray,
                      field_lo: np.ndarray) -> None:
    """Overwrite lung voxels of a flat slab (`tissue`, `side`, points (N, 3) mm) in place.

    `field_lo`: a zero-mean unit-std smooth field at the points (emphysema where it is highest, upper lungs)."""
    lung = side > 0
    for tid, c, r in d.blobs:
        near = ((points - c) ** 2).sum(axis=1) < r * r
        target = near if tid == T.CALCIFICATION else near & lung
        tissue[target] = tid
    if d.emphysema > 0:
        upper = points[:, 2] > anat.carina[2] - 60.0 * anat.scale
        cut = float(norm.ppf(1.0 - d.emphysema))  # the field is ~N(0, 1): this share of voxels goes
        tissue[lung & upper & (field_lo > cut) & (tissue == T.LUNG)] = T.EMPHYSEMA
    for k in (0, 1):
        if d.effusion[k] > 0:  # fluid in the dependent (posterior) pleural space, lower half of the lung
            c, semi = anat.lung_centre[k], anat.lung_semi[k]
            back = c[1] - semi[1] + d.effusion[k]
            tissue[(side == k + 1) & (points[:, 1] < back) & (points[:, 2] < c[2])] = T.EFFUSION
