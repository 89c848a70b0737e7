"""Vessel trees: arteries beside the bronchi (offset from the bronchovascular skeleton), veins as a separate
volume-filling tree in the space between bundles, draining to the left atrium through four ostia.

Both trees use the same `GrowthParams` (Murray exponent, split fractions, angle and length rules), so radius
and branching statistics cannot tell artery from vein; only their position relative to the airways can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from medvlseg.data.phantom.airways import GrowthParams, Tree, _unit, grow_tree
from medvlseg.data.phantom.anatomy import Anatomy, lung_side, sample_lung_points

WALL = 0.66  # airway lumen radius / outer radius (wall = 17 % of the outer diameter)


@dataclass
class LungTrees:
    """The trees of one lung (side 1 = left, 2 = right): bronchovascular skeleton (airway lumen radii),
    arteries (with the root polyline from the pulmonary trunk bifurcation) and veins (two roots)."""

    side: int
    airway: Tree
    artery: Tree
    artery_root: np.ndarray  # (K, 3) polyline bifurcation → lung artery root, mm
    artery_root_radius: float
    veins: list[Tree]


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Unit component of v perpendicular to unit `axis` (any perpendicular if v is parallel)."""
    w = v - (v @ axis) * axis
    if np.linalg.norm(w) < 1e-6:
        w = np.cross(axis, [0.31, 0.52, 0.79])
    return _unit(w)


def artery_from_airway(airway: Tree, anat: Anatomy, side: int, ratio: float,
                       rng: np.random.Generator) -> tuple[Tree, np.ndarray, float]:
    """Offset each bronchus by outer radius + artery radius + 0–1 mm gap on a consistent side (mm)."""
    n = len(airway.points)
    offset = np.zeros((n, 3))
    first = np.array([0.0, 0.25, 1.0]) if side == 1 else np.array([0.0, 1.0, 0.2])  # LPA over, RPA in front
    dirs = np.zeros((n, 3))
    dirs[1] = _perp(_unit(first), _unit(airway.points[1] - airway.points[0]))
    for i in range(1, n):
        axis = _unit(airway.points[i] - airway.points[airway.parent[i]])
        if i > 1:  # keep the parent's side, leaning away from the sibling branch
            par = airway.parent[i]
            sib = [k for k in np.nonzero(airway.parent == par)[0] if k != i]
            away = axis - _unit(airway.points[sib[0]] - airway.points[par]) if sib else np.zeros(3)
            dirs[i] = _perp(dirs[par] + 0.8 * away + 0.25 * rng.standard_normal(3), axis)
        r_a = ratio * airway.radius[i]
        offset[i] = dirs[i] * (airway.radius[i] / WALL + r_a + rng.uniform(0.0, 1.0))
    points = airway.points + offset
    hilum_art = points[1]
    bif = anat.trunk[-1]
    mid = 0.5 * (airway.points[0] + airway.points[1]) + dirs[1] * (airway.radius[1] / WALL + ratio * airway.radius[1])
    root = np.stack([bif, 0.5 * (bif + mid) + np.array([0, 0, 4.0 * anat.scale]), mid, hilum_art])
    points[0] = mid
    artery = Tree(points=points, parent=airway.parent.copy(), radius=airway.radius * ratio,
                  generation=airway.generation.copy(), supply=airway.supply.copy())
    return artery, root, float(ratio * airway.radius[1] * 1.35)


def tube_samples(tree: Tree, radius: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every `step` mm along every segment of `tree`, with the segment radius (mm) of each."""
    idx = np.nonzero(tree.parent >= 0)[0]
    a, b = tree.points[tree.parent[idx]], tree.points[idx]
    counts = np.maximum(np.ceil(np.linalg.norm(b - a, axis=1) / step).astype(int), 1) + 1
    seg = np.repeat(np.arange(len(idx)), counts)
    t = np.concatenate([np.linspace(0.0, 1.0, c) for c in counts])
    pts = a[seg] + t[:, None] * (b[seg] - a[seg])
    return pts, radius[idx][seg]


def subdivide(tree: Tree, max_len: float, tortuosity: float, rng: np.random.Generator) -> Tree:
    """Split segments longer than max_len (mm) into pieces, displacing new nodes sideways (mild tortuosity)."""
    pts, par, rad, gen, sup = list(tree.points), list(tree.parent), list(tree.radius), list(tree.generation), list(tree.supply)
    remap = {}
    for i in range(1, len(tree.points)):
        p = tree.parent[i]
        a, b = tree.points[p], tree.points[i]
        pieces = int(np.ceil(np.linalg.norm(b - a) / max_len))
        prev = p
        axis = _unit(b - a)
        for k in range(1, pieces):
            side = _perp(rng.standard_normal(3), axis)
            amp = tortuosity * np.linalg.norm(b - a) / pieces * np.sin(np.pi * k / pieces)
            pts.append(a + (b - a) * k / pieces + amp * side)
            par.append(prev)
            rad.append(tree.radius[i])
            gen.append(tree.generation[i])
            sup.append(tree.supply[i])
            prev = len(pts) - 1
        remap[i] = prev
    par = [par[i] if i >= len(tree.points) else (remap[i] if i > 0 else -1) for i in range(len(par))]
    return Tree(points=np.array(pts), parent=np.array(par), radius=np.array(rad),
                generation=np.array(gen), supply=np.array(sup))


def repel(tree: Tree, obstacles: list[tuple[cKDTree, np.ndarray, float]], min_gen: int, iters: int = 6) -> None:
    """Move nodes (generation ≥ min_gen) until clear of every obstacle (kd-tree, radii mm, margin mm); in place."""
    movable = tree.generation >= min_gen
    for _ in range(iters):
        for kd, radii, margin in obstacles:
            p = tree.points[movable]
            dist, j = kd.query(p)
            need = radii[j] + tree.radius[movable] + margin - dist
            push = need > 0
            if not push.any():
                continue
            away = p[push] - kd.data[j[push]]
            away /= np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
            p[push] += away * need[push, None]
            tree.points[movable] = p


def _vein_roots(anat: Anatomy, side: int, n: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """(left-atrial ostium, hilar entry) of the pulmonary veins of a lung, mm, top to bottom: n = 2 superior and
    inferior (the usual pattern), 1 a common trunk, 3 a separate middle vein (variants; engine only)."""
    s = anat.scale
    sign = -1.0 if side == 1 else 1.0
    la, semi = anat.la_centre, anat.la_semi
    hil = anat.hilum[side - 1]
    levels = {1: ((0.0, 29.0),), 2: ((0.45, 16.0), (-0.45, 42.0)), 3: ((0.5, 14.0), (0.0, 29.0), (-0.5, 44.0))}[n]
    roots = []
    for dz, drop in levels:
        ostium = la + np.array([sign * 0.85 * semi[0], 0.2 * semi[1], dz * semi[2]])
        entry = hil + np.array([sign * 12.0 * s, 14.0 * s, -drop * s])
        roots.append((ostium, entry))
    return roots


def _split_by_height(points: np.ndarray, n: int) -> list[np.ndarray]:
    """Points (M, 3) split into n groups by z, top group first (n = 2: at the median, as always)."""
    if n == 2:
        upper = points[:, 2] >= np.median(points[:, 2])
        return [points[upper], points[~upper]]
    edges = np.quantile(points[:, 2], np.linspace(1.0, 0.0, n + 1)[1:-1])
    group = np.searchsorted(-edges, -points[:, 2], side="right")  # 0 = highest
    return [points[group == g] for g in range(n)]


def grow_lung(anat: Anatomy, side: int, params: GrowthParams, n_points: int, ratio: float,
              rng: np.random.Generator, vein_roots: int = 2) -> LungTrees:
    """Grow the airway skeleton, arteries and veins (`vein_roots` ostia) of lung `side` (1 left, 2 right)."""
    def inside(p: np.ndarray) -> np.ndarray:
        return lung_side(anat, p) == side

    cloud = sample_lung_points(anat, side, n_points, rng)
    # the skeleton stops where the *artery* (ratio x lumen) would be thinner than stop_radius
    bv_params = GrowthParams(**{**params.__dict__, "stop_radius": params.stop_radius / ratio})
    airway = grow_tree(anat.carina, anat.hilum[side - 1], float(anat.bronchus_radius[side - 1]), cloud,
                       inside, rng, bv_params)
    artery, root, root_r = artery_from_airway(airway, anat, side, ratio, rng)
    step = max(0.5 * params.stop_radius, 0.3)
    aw_pts, aw_r = tube_samples(airway, airway.radius / WALL, step)
    ar_pts, ar_r = tube_samples(artery, artery.radius, step)
    root_tree = Tree(points=root, parent=np.arange(-1, len(root) - 1), radius=np.full(len(root), root_r),
                     generation=np.zeros(len(root), int), supply=np.zeros(len(root), int))
    rt_pts, rt_r = tube_samples(root_tree, root_tree.radius, step)
    ar_pts, ar_r = np.concatenate([ar_pts, rt_pts]), np.concatenate([ar_r, rt_r])
    kd_aw, kd_ar = cKDTree(aw_pts), cKDTree(ar_pts)
    # veins fill the septa: lung points farthest from any bronchovascular bundle
    more = sample_lung_points(anat, side, 2 * n_points, rng)
    clear = np.minimum(kd_aw.query(more)[0] - 0.0, kd_ar.query(more)[0])
    far = more[clear >= np.quantile(clear, 0.5)]
    r_total = ratio * float(anat.bronchus_radius[side - 1])
    veins = []
    roots = _vein_roots(anat, side, vein_roots)
    for (ostium, entry), part in zip(roots, _split_by_height(far, vein_roots)):
        r_root = r_total * (len(part) / len(far)) ** (1.0 / params.gamma)
        vein = grow_tree(ostium, entry, r_root, part, inside, rng, params)
        vein = subdivide(vein, max_len=max(2.5 * params.stop_radius, 2.0 * anat.scale), tortuosity=0.12, rng=rng)
        margin_aw = 3.0 * anat.scale  # veins keep ≥ ~3 mm (adult) from airway walls past the hilum
        repel(vein, [(kd_aw, aw_r, margin_aw), (kd_ar, ar_r, 1.0 * params.stop_radius)], min_gen=2, iters=10)
        veins.append(vein)
    return LungTrees(side=side, airway=airway, artery=artery, artery_root=root,
                     artery_root_radius=root_r, veins=veins)
