"""Analytic chest anatomy: body wall, ribs, spine, lungs, heart, great vessels and the trachea's landmarks.

Positions are world RAS+ mm relative to the anatomy centre (x → patient's Right, y → Anterior, z → Superior),
built from adult sizes (../shared/docs/phantom-anatomy.md) times `scale`. So the patient's left lung is at x < 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Anatomy:
    """Landmarks (mm, world RAS+) and shape parameters of one phantom chest."""

    scale: float
    body_semi: np.ndarray  # (2,) x, y semi-axes of the body ellipse
    fat: float  # subcutaneous fat thickness
    muscle: float  # chest-wall muscle thickness
    cage_semi: np.ndarray  # (2,) inner rib-cage ellipse
    rib_pitch: float
    rib_width: float
    spine: np.ndarray  # (3,) x, y centre and radius of the vertebral body
    lung_centre: np.ndarray  # (2, 3) left, right
    lung_semi: np.ndarray  # (2, 3)
    dome: np.ndarray  # (2,) diaphragm dome height (z) under the left and right lung
    band: float  # mediastinal half-width that lungs never enter
    heart_centre: np.ndarray
    heart_semi: np.ndarray
    rv_centre: np.ndarray
    rv_semi: np.ndarray
    la_centre: np.ndarray
    la_semi: np.ndarray
    lv_centre: np.ndarray
    lv_semi: np.ndarray
    carina: np.ndarray
    trachea_top: np.ndarray
    hilum: np.ndarray  # (2, 3) end of the left and right main bronchus
    bronchus_radius: np.ndarray  # (2,) lumen radius of the main bronchi
    trachea_radius: float
    trunk: np.ndarray  # (3, 3) polyline RV outflow → bifurcation
    aorta: np.ndarray  # (K, 3) polyline LV → arch → descending
    aorta_radius: float
    trunk_radius: float
    # engine extensions (defaults leave the classic generator unchanged): extra mediastinal tubes (polyline mm,
    # radius mm) and ellipsoids (centre, semi-axes mm) the lungs never enter, and a smooth warp of lung space
    extra_tubes: list[tuple[np.ndarray, float]] = field(default_factory=list)
    extra_ellipsoids: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    warp: Callable[[np.ndarray], np.ndarray] | None = None


def make_anatomy(scale: float, rng: np.random.Generator, radius_boost: float = 1.0) -> Anatomy:
    """Draw one chest (mm) with ~5 % random variation around adult landmarks times `scale`.

    `radius_boost` multiplies the radii of the trachea, bronchi and great vessels (coarse presets).
    """
    s = float(scale)
    rb = float(radius_boost)

    def j(values: list[float], sd: float = 0.04) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return v * s * (1.0 + sd * rng.standard_normal(v.shape))

    def p(values: list[float], sd: float = 3.0) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return (v + sd * rng.standard_normal(v.shape)) * s

    carina = p([0, -25, 25])
    left_angle, right_angle = np.deg2rad(rng.uniform(38, 48)), np.deg2rad(rng.uniform(22, 32))
    hilum_l = carina + s * rng.uniform(45, 52) * np.array([-np.sin(left_angle), 0.05, -np.cos(left_angle)])
    hilum_r = carina + s * rng.uniform(28, 34) * np.array([np.sin(right_angle), 0.05, -np.cos(right_angle)])
    dome = np.array([-75.0, -60.0]) * s + rng.normal(0, 4, 2) * s
    body, fat, muscle = j([160, 118]), rng.uniform(8, 18) * s, rng.uniform(8, 12) * s
    return Anatomy(
        scale=s, body_semi=body, fat=fat, muscle=muscle, cage_semi=body - fat - muscle - 9.0 * s, rib_pitch=rng.uniform(24, 28) * s, rib_width=rng.uniform(8, 11) * s,
        spine=np.array([0.0, -80.0 * s, 17.0 * s]),
        lung_centre=np.stack([p([-78, -5, 5]), p([78, -5, 10])]),
        lung_semi=np.stack([j([62, 88, 125]), j([66, 88, 120])]), dome=dome, band=18.0 * s,
        heart_centre=p([-15, 35, -60]), heart_semi=j([58, 45, 50]),
        rv_centre=p([5, 55, -58]), rv_semi=j([28, 16, 28]),
        la_centre=p([-5, 2, -22], 1.5), la_semi=j([30, 15, 16]),
        lv_centre=p([-38, 28, -65]), lv_semi=j([24, 20, 26]),
        carina=carina, trachea_top=carina + np.array([0.0, 0.0, 400.0 * s]),
        hilum=np.stack([hilum_l, hilum_r]), bronchus_radius=j([5.5, 6.5]) * rb, trachea_radius=8.5 * s * rb,
        trunk=np.stack([p([5, 60, -30]), p([-8, 40, 0]), p([-12, 10, 12], 2.0)]), trunk_radius=13.0 * s * rb,
        aorta=np.stack([p([-5, 30, -35]), p([2, 22, 30]), p([-12, -5, 52]), p([-30, -45, 45]),
                        p([-25, -62, 10]), p([-25, -62, -400])]), aorta_radius=13.0 * s * rb,
    )


def segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (mm) from points (N, 3) to the segment a–b."""
    u = b - a
    v = points - a
    t = np.clip((v @ u) / max(float(u @ u), 1e-12), 0.0, 1.0)
    return np.linalg.norm(v - t[:, None] * u, axis=1)


def polyline_distance(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance (mm) from points (N, 3) to a polyline (K, 3)."""
    d = np.full(len(points), np.inf)
    for a, b in zip(line[:-1], line[1:]):
        d = np.minimum(d, segment_distance(points, a, b))
    return d


def _ellipsoid(points: np.ndarray, centre: np.ndarray, semi: np.ndarray) -> np.ndarray:
    """Normalised ellipsoid radius (< 1 inside) of points (N, 3)."""
    return np.sqrt((((points - centre) / semi) ** 2).sum(axis=1))


def mediastinum(anat: Anatomy, points: np.ndarray, margin: float = 4.0) -> np.ndarray:
    """True where points (N, 3) mm lie in the mediastinum (heart, great vessels, trachea, spine) + margin mm."""
    m = margin * anat.scale
    x, y = points[:, 0], points[:, 1]
    inside = np.abs(x) < anat.band
    inside |= _ellipsoid(points, anat.heart_centre, anat.heart_semi + m) < 1.0
    inside |= _ellipsoid(points, anat.la_centre, anat.la_semi + m) < 1.0
    inside |= np.hypot(x - anat.spine[0], y - anat.spine[1]) < anat.spine[2] + m + 6 * anat.scale
    inside |= polyline_distance(points, anat.aorta) < anat.aorta_radius + m
    inside |= polyline_distance(points, anat.trunk) < anat.trunk_radius + m
    inside |= polyline_distance(points, np.stack([anat.trachea_top, anat.carina])) < anat.trachea_radius * 1.5 + m
    for line, radius in anat.extra_tubes:
        inside |= polyline_distance(points, line) < radius + m
    for centre, semi in anat.extra_ellipsoids:
        inside |= _ellipsoid(points, centre, semi + m) < 1.0
    return inside


WARP_REACH = 12.0  # mm (x scale): bound on the engine warp's displacement, used to skip far points


def lung_side(anat: Anatomy, points: np.ndarray, mediastinal: bool = True) -> np.ndarray:
    """Lung label of points (N, 3) mm: 0 outside, 1 left lung (x < 0), 2 right lung.

    `anat.warp` (engine) deforms the lung ellipsoids and domes only; cage, midline and mediastinum stay put.
    `mediastinal=False` skips the mediastinum exclusion (the caller applies it, e.g. from a painted mask)."""
    out = np.zeros(len(points), dtype=np.uint8)
    if anat.warp is not None:  # warp only points that can reach a lung
        reach = WARP_REACH * anat.scale
        near = np.nonzero((_ellipsoid(points, anat.lung_centre[0], anat.lung_semi[0] + reach) < 1.0)
                          | (_ellipsoid(points, anat.lung_centre[1], anat.lung_semi[1] + reach) < 1.0))[0]
        points, q = points[near], anat.warp(points[near])
    else:
        near, q = None, points
    sub = np.zeros(len(points), dtype=np.uint8)
    cage = ((points[:, 0] / anat.cage_semi[0]) ** 2 + (points[:, 1] / anat.cage_semi[1]) ** 2) < 1.0
    for k in (0, 1):
        c, semi = anat.lung_centre[k], anat.lung_semi[k]
        inside = (_ellipsoid(q, c, semi) < 1.0) & cage & ((points[:, 0] < 0) == (k == 0))
        # diaphragm: a dome peaking under the lung centre, falling off laterally and front/back
        rel = ((q[:, 0] - c[0]) / semi[0]) ** 2 + ((q[:, 1] - c[1]) / semi[1]) ** 2
        inside &= q[:, 2] > anat.dome[k] - 45.0 * anat.scale * rel
        sub[inside] = k + 1
    if mediastinal:
        cand = np.nonzero(sub)[0]
        sub[cand[mediastinum(anat, points[cand])]] = 0
    if near is None:
        return sub
    out[near] = sub
    return out


def sample_lung_points(anat: Anatomy, side: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random points (mm) inside lung `side` (1 left, 2 right) by rejection sampling."""
    c, semi = anat.lung_centre[side - 1], anat.lung_semi[side - 1]
    found: list[np.ndarray] = []
    total = 0
    for _ in range(100):
        cand = c + semi * rng.uniform(-1.0, 1.0, size=(4 * n, 3))
        keep = cand[lung_side(anat, cand) == side]
        found.append(keep)
        total += len(keep)
        if total >= n:
            break
    return np.concatenate(found)[:n]
