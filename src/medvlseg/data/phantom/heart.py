"""Four-chamber heart: right atrium and ventricle, left atrium and ventricle inside a myocardial shell, with the
right-ventricular outflow tract leading to the pulmonary valve (start of the trunk) and the left-ventricular
outflow tract to the aortic root, so the blood pools connect as in a real heart.

Sizes (mm, adult, times the anatomy scale): heart ~120 x 90 x 100; the chambers sit where a chest CT shows them
(right ventricle anterior, left atrium posterior below the carina, left ventricle left-inferior, right atrium
right). The heart is rotated about the cranio-caudal axis by ±12° and tilted by ±8° and shifted by a few mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.anatomy import Anatomy


@dataclass
class Heart:
    """Heart pose and chambers (world RAS+ mm): rotation R (columns = heart axes), shell and chamber ellipsoids."""

    centre: np.ndarray
    rotation: np.ndarray  # (3, 3)
    shell_semi: np.ndarray
    chambers: list[tuple[int, np.ndarray, np.ndarray]]  # (tissue id, world centre, semi-axes in the heart frame)
    rvot: np.ndarray  # (2, 3) right-ventricle centre → pulmonary valve
    lvot: np.ndarray  # (2, 3) left-ventricle centre → aortic valve
    rvot_radius: float
    lvot_radius: float


def _rotation(yaw_deg: float, tilt_deg: float) -> np.ndarray:
    """Rotation about z (yaw) then about y (tilt), degrees."""
    a, b = np.deg2rad(yaw_deg), np.deg2rad(tilt_deg)
    rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[np.cos(b), 0.0, np.sin(b)], [0.0, 1.0, 0.0], [-np.sin(b), 0.0, np.cos(b)]])
    return rz @ ry


def make_heart(anat: Anatomy, rng: np.random.Generator) -> Heart:
    """Pose the heart of `anat` (moves its chamber landmarks in place) and add the right atrium to the mediastinum."""
    s = anat.scale
    shift = np.array([rng.normal(0, 4.0), rng.normal(0, 4.0), rng.normal(0, 3.0)]) * s
    centre = anat.heart_centre + shift
    rot = _rotation(rng.uniform(-12, 12), rng.uniform(-8, 8))
    ra_centre = np.array([24.0, 28.0, -48.0]) * s + rng.normal(0, 2.0, 3) * s
    ra_semi = np.array([18.0, 18.0, 24.0]) * s * (1 + 0.05 * rng.standard_normal(3))
    specs = [(T.RA, ra_centre, ra_semi), (T.RV, anat.rv_centre, anat.rv_semi),
             (T.LV, anat.lv_centre, anat.lv_semi), (T.LA, anat.la_centre, anat.la_semi)]
    chambers = []
    for tid, c, semi in specs:
        world = centre + rot @ (c - anat.heart_centre)
        chambers.append((tid, world, np.asarray(semi, float)))
    anat.heart_centre = centre
    anat.rv_centre, anat.lv_centre, anat.la_centre = (chambers[i][1] for i in (1, 2, 3))
    anat.extra_ellipsoids.append((chambers[0][1], ra_semi))
    return Heart(centre=centre, rotation=rot, shell_semi=anat.heart_semi, chambers=chambers,
                 rvot=np.stack([anat.rv_centre, anat.trunk[0]]), lvot=np.stack([anat.lv_centre, anat.aorta[0]]),
                 rvot_radius=0.85 * anat.trunk_radius, lvot_radius=0.85 * anat.aorta_radius)


def heart_tissue(heart: Heart, points: np.ndarray) -> np.ndarray:
    """Tissue id (uint8) of points (N, 3) mm: 0 outside the heart, myocardium or the chamber they lie in."""
    q = (points - heart.centre) @ heart.rotation  # heart-frame coordinates, mm
    chambers = [(tid, (c - heart.centre) @ heart.rotation, semi) for tid, c, semi in heart.chambers]
    shell = ((q / heart.shell_semi) ** 2).sum(axis=1) < 1.0
    for _, c, semi in chambers:  # chambers may bulge out of the shell: their wall is 2 mm of myocardium
        shell |= (((q - c) / (semi + 2.0)) ** 2).sum(axis=1) < 1.0
    out = np.zeros(len(points), dtype=np.uint8)
    out[shell] = T.MYOCARDIUM
    idx = np.nonzero(shell)[0]
    qs = q[idx]
    for tid, c, semi in chambers:
        out[idx[(((qs - c) / semi) ** 2).sum(axis=1) < 1.0]] = tid
    return out
