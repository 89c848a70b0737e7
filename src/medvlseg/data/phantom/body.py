"""Body wall and bones as tissue ids: skin-fat, muscle, ribs (cortex + marrow), sternum, vertebral body with
spinal canal and posterior elements, mediastinal fat, the liver dome under the right hemidiaphragm and upper
abdomen under the left; plus the smooth elastic warp that randomises lung shape.

Evaluated on broadcast slabs (X (x,1,1), Y (1,y,1), Z (1,1,z), mm), vectorised, no per-voxel Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.anatomy import Anatomy


def body_tissue(anat: Anatomy, X: np.ndarray, Y: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Tissue ids (uint8, broadcast shape) of air, fat, muscle, bones, mediastinal fat, liver and abdomen."""
    s = anat.scale
    bx, by = anat.body_semi
    shape = np.broadcast_shapes(X.shape, Y.shape, Z.shape)

    def ell(ax: float, ay: float) -> np.ndarray:
        return (X / ax) ** 2 + (Y / ay) ** 2

    def put(mask: np.ndarray, tid: int) -> None:
        out[np.broadcast_to(mask, shape)] = tid

    out = np.zeros(shape, dtype=np.uint8)
    put(ell(bx, by) < 1.0, T.FAT)
    put(ell(bx - anat.fat, by - anat.fat) < 1.0, T.MUSCLE)
    thorax = ell(bx - anat.fat - anat.muscle, by - anat.fat - anat.muscle) < 1.0
    put(thorax, T.FAT)
    cage = ell(*anat.cage_semi) < 1.0
    rib_band = thorax & ~cage & ~((np.abs(X) < 20 * s) & (Y > 0))
    phase = np.mod(Z - 0.35 * Y, anat.rib_pitch)
    put(rib_band & (phase < anat.rib_width), T.CORTICAL)
    put(rib_band & (np.abs(phase - anat.rib_width / 2) < anat.rib_width / 2 - 1.5 * s), T.TRABECULAR)
    put((np.abs(X) < 16 * s) & (Y > anat.cage_semi[1] - 2 * s) & thorax, T.TRABECULAR)
    sx, sy, sr = anat.spine
    rr = np.hypot(X - sx, Y - sy)
    put(rr < sr, T.CORTICAL)
    put(rr < sr - 2.5 * s, T.TRABECULAR)
    back = sy - sr
    spinous = (np.abs(X) < 5 * s) & (Y < back) & (Y > back - 26 * s)
    lamina = (np.abs(X) < 20 * s) & (np.abs(Y - (back - 12 * s)) < 3.5 * s)
    canal = np.hypot(X - sx, Y - (back - 7 * s)) < 6.5 * s
    put((spinous | lamina) & ~canal, T.CORTICAL)
    put(canal, T.MARROW_CANAL)
    # below the diaphragm (the lungs' dome surface continued across the chest): liver right, abdomen left
    below = np.zeros(shape, dtype=bool)
    for k in (0, 1):
        c, semi = anat.lung_centre[k], anat.lung_semi[k]
        rel = ((X - c[0]) / semi[0]) ** 2 + ((Y - c[1]) / semi[1]) ** 2
        side = (X < 0) if k == 0 else (X >= 0)
        below |= np.broadcast_to(side & (Z < anat.dome[k] - 45.0 * s * np.minimum(rel, 1.0) - 3.0 * s), shape)
    inner = np.broadcast_to(cage & thorax, shape) & below & (out == T.FAT)
    liver = inner & np.broadcast_to(X > -35 * s, shape)
    out[liver] = T.LIVER
    out[inner & ~liver] = T.ABDOMEN
    return out


def make_warp(anat: Anatomy, rng: np.random.Generator, amplitude_mm: tuple[float, float] = (2.0, 4.0),
              modes: int = 3) -> Callable[[np.ndarray], np.ndarray]:
    """Smooth elastic deformation of lung space: a sum of `modes` random sine modes (wavelength 80–220 mm).

    The displacement stays below modes x max amplitude (12 mm at scale 1 = anatomy.WARP_REACH)."""
    s = anat.scale
    waves = rng.normal(size=(modes, 3))
    waves /= np.linalg.norm(waves, axis=1, keepdims=True)
    waves *= (2 * np.pi / (rng.uniform(80, 220, modes) * s))[:, None]  # (modes, 3) 1/mm
    amps = rng.normal(size=(modes, 3))
    amps *= (rng.uniform(*amplitude_mm, modes) * s / np.linalg.norm(amps, axis=1))[:, None]  # (modes, 3) mm
    phases = rng.uniform(0, 2 * np.pi, modes)

    def warp(points: np.ndarray) -> np.ndarray:
        """Points (N, 3) mm displaced by the random field."""
        return points + np.sin(points @ waves.T + phases) @ amps

    return warp
