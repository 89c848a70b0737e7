"""Mediastinal tubes besides the pulmonary trunk and aorta (anatomy.py): superior and inferior vena cava into
the right atrium, the azygos vein arching over the right main bronchus into the SVC, and the esophagus behind the
trachea and left atrium. Each is a polyline (world RAS+ mm) with a radius; all are added to the mediastinum so
the lungs and their trees keep out.

Adult calibres (mm, diameter): SVC ~20, IVC ~22-25, azygos ~7-10, esophagus ~15-20 collapsed (docs/phantom-engine.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.anatomy import Anatomy
from medvlseg.data.phantom.heart import Heart


@dataclass
class Tube:
    """A tapered tube: tissue id, polyline (K, 3) mm, radius at the start and at the end (mm)."""

    tissue: int
    line: np.ndarray
    r0: float
    r1: float


def make_great_vessels(anat: Anatomy, heart: Heart, rng: np.random.Generator) -> list[Tube]:
    """SVC, IVC, azygos and esophagus for `anat` (registered as mediastinal tubes in place)."""
    s = anat.scale

    def p(values: list[float], sd: float = 2.0) -> np.ndarray:
        return (np.asarray(values, float) + sd * rng.standard_normal(3)) * s

    ra = next(c for tid, c, _ in heart.chambers if tid == T.RA)
    ra_semi = next(semi for tid, _, semi in heart.chambers if tid == T.RA)
    ra_top, ra_bottom = ra + np.array([0, 0, 0.6 * ra_semi[2]]), ra - np.array([0, 0, 0.6 * ra_semi[2]])
    svc_join = p([27, 16, 32])
    tubes = [
        Tube(T.SVC, np.stack([p([28, 16, 160]), svc_join, ra_top]), 9.5 * s, 10.0 * s),
        Tube(T.IVC, np.stack([p([20, 4, -300]), p([22, 10, -120]), ra_bottom]), 11.5 * s, 12.0 * s),
        Tube(T.AZYGOS, np.stack([p([9, -60, -250]), p([10, -60, 15]), p([18, -38, 40]), svc_join]),
             3.5 * s, 4.5 * s),
        Tube(T.ESOPHAGUS, np.stack([p([2, -46, 160]), p([2, -47, 30]), p([-4, -40, -60]),
                                    p([-22, -20, -140])]), 8.0 * s, 8.0 * s),
    ]
    for tube in tubes:
        anat.extra_tubes.append((tube.line, max(tube.r0, tube.r1)))
    return tubes
