"""The engine's tissue label map on the fine grid: body and bones, lungs (warped), heart chambers, distractors
(slab by slab, vectorised), then every tube painted on top: airways with walls, pulmonary arteries (trunk from the
valve on) and veins, aorta, venae cavae, azygos, esophagus, and the ventricular outflow tracts.

Precedence: chambers keep their voxels (a vein ends at the left-atrial wall, the trunk at the pulmonary valve),
vessels win over airway walls, airway lumen wins over everything else it crosses.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.airways import Tree
from medvlseg.data.phantom.anatomy import Anatomy, lung_side
from medvlseg.data.phantom.body import body_tissue
from medvlseg.data.phantom.distractors import Distractors, apply_distractors
from medvlseg.data.phantom.great_vessels import Tube
from medvlseg.data.phantom.heart import Heart, heart_tissue
from medvlseg.data.phantom.raster import Grid, Painter, segments_of
from medvlseg.data.phantom.vessels import WALL, LungTrees

# painter ids → tissue and lung side (the pulmonary trunk counts as left, like the classic generator)
ART_L, VEIN_L, ART_R, VEIN_R, AORTA, TRUNK, SVC, IVC, AZYGOS, ESO, RVOT, LVOT = range(1, 13)
TISSUE_OF = np.array([T.AIR, T.PULM_ARTERY, T.PULM_VEIN, T.PULM_ARTERY, T.PULM_VEIN, T.AORTA, T.PULM_ARTERY,
                      T.SVC, T.IVC, T.AZYGOS, T.ESOPHAGUS, T.RV, T.LV], dtype=np.uint8)
SIDE_OF = np.array([0, 1, 1, 2, 2, 0, 1, 0, 0, 0, 0, 0, 0], dtype=np.uint8)
TUBE_ID = {T.SVC: SVC, T.IVC: IVC, T.AZYGOS: AZYGOS, T.ESOPHAGUS: ESO}


def tissue_at(anat: Anatomy, heart: Heart, distractors: Distractors, points: np.ndarray, mediastinal: np.ndarray,
              emph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tissue id and lung side (uint8, (N,)) of points (N, 3) mm; `mediastinal` (N,) marks where lungs never go,
    `emph` (N,) the emphysema field."""
    flat = body_tissue(anat, points[:, 0], points[:, 1], points[:, 2])
    side = np.zeros(len(flat), dtype=np.uint8)
    cand = np.nonzero(np.isin(flat, (T.FAT, T.LIVER, T.ABDOMEN)) & ~mediastinal)[0]
    side[cand] = lung_side(anat, points[cand], mediastinal=False)
    flat[side > 0] = T.LUNG
    near = np.nonzero(((points - heart.centre) ** 2).sum(axis=1) < heart_reach(heart) ** 2)[0]
    ht = heart_tissue(heart, points[near])
    hit = near[ht > 0]
    flat[hit], side[hit] = ht[ht > 0], 0
    apply_distractors(distractors, anat, flat, side, points, emph)
    return flat, side


def heart_reach(heart: Heart) -> float:
    """Radius (mm) around the heart centre that holds the shell and every chamber."""
    reach = float(np.max(heart.shell_semi)) + 2.0
    for _, c, semi in heart.chambers:
        reach = max(reach, float(np.linalg.norm(c - heart.centre) + semi.max() + 2.0))
    return reach


def render_tissue(anat: Anatomy, heart: Heart, distractors: Distractors, grid: Grid, k: int, emph: np.ndarray,
                  slab: int = 8, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Tissue ids and lung side map (uint8) on the fine grid (`grid` refined k times), before the tubes.

    Evaluated on `grid` first; only voxels whose 3x3x3 neighbourhood holds two tissues are re-evaluated at
    their k³ sub-voxel centres (the rest is constant inside), which gives the same map at a fraction of the cost."""
    xs, ys, zs = grid.axes()
    tissue = np.empty(grid.shape, dtype=np.uint8)
    lung = np.zeros(grid.shape, dtype=np.uint8)
    mediastinum = mediastinum_mask(anat, grid)
    X, Y = xs[:, None, None], ys[None, :, None]
    for z0 in range(0, grid.shape[2], slab):
        Z = zs[z0:z0 + slab][None, None, :]
        pts = np.stack(np.broadcast_arrays(X, Y, Z), axis=-1).reshape(-1, 3)
        t, side = tissue_at(anat, heart, distractors, pts, mediastinum[:, :, z0:z0 + slab].reshape(-1),
                            emph[:, :, z0:z0 + slab].reshape(-1))
        tissue[:, :, z0:z0 + slab] = t.reshape(tissue[:, :, z0:z0 + slab].shape)
        lung[:, :, z0:z0 + slab] = side.reshape(tissue[:, :, z0:z0 + slab].shape)
    if k == 1:
        return tissue, lung
    mixed = np.flatnonzero(ndimage.maximum_filter(tissue, 3) != ndimage.minimum_filter(tissue, 3))
    fine_t, fine_l = repeat_k(tissue, k), repeat_k(lung, k)
    offsets = (np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3) - (k - 1) / 2) / k
    per = max(chunk // k ** 3, 1)
    for i in range(0, len(mixed), per):
        vox = np.stack(np.unravel_index(mixed[i:i + per], grid.shape), -1)  # (M, 3) coarse voxels
        sub = (vox[:, None, :] + offsets[None]).reshape(-1, 3)  # (M k³, 3) continuous coarse voxel coords
        pts = grid.origin + sub * grid.spacing
        v = tuple(np.repeat(vox, k ** 3, axis=0).T)
        t, side = tissue_at(anat, heart, distractors, pts, mediastinum[v], emph[v])
        f = tuple(np.rint(sub * k + (k - 1) / 2).astype(int).T)
        fine_t[f], fine_l[f] = t, side
    return fine_t, fine_l


def repeat_k(array: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour upsampling by k along every axis."""
    for axis in range(3):
        array = np.repeat(array, k, axis=axis)
    return array


def mediastinum_mask(anat: Anatomy, grid: Grid, margin: float = 4.0) -> np.ndarray:
    """`anatomy.mediastinum` on a whole grid (bool): tubes painted in their bounding boxes, ellipsoids per axis."""
    m = margin * anat.scale
    painter = Painter(grid)
    lines = [(anat.aorta, anat.aorta_radius), (anat.trunk, anat.trunk_radius),
             (np.stack([anat.trachea_top, anat.carina]), anat.trachea_radius * 1.5), *anat.extra_tubes]
    for line, radius in lines:
        painter.paint(line[:-1], line[1:], np.full(len(line) - 1, radius + m), 1)
    mask = painter.ids > 0
    xs, ys, zs = grid.axes()
    X, Y, Z = xs[:, None, None], ys[None, :, None], zs[None, None, :]
    mask |= np.abs(X) < anat.band
    mask |= np.hypot(X - anat.spine[0], Y - anat.spine[1]) < anat.spine[2] + m + 6 * anat.scale
    for c, semi in [(anat.heart_centre, anat.heart_semi), (anat.la_centre, anat.la_semi), *anat.extra_ellipsoids]:
        e = semi + m
        mask |= ((X - c[0]) / e[0]) ** 2 + ((Y - c[1]) / e[1]) ** 2 + ((Z - c[2]) / e[2]) ** 2 < 1.0
    return mask


def _paint_tree(painter: Painter, tree: Tree, radius: np.ndarray, value: int, min_radius: float = 0.0) -> None:
    """Paint every segment of `tree` whose radius (mm) is ≥ min_radius."""
    a, b, idx = segments_of(tree.points, tree.parent)
    keep = radius[idx] >= min_radius
    painter.paint(a[keep], b[keep], radius[idx][keep], value)


def _polyline(painter: Painter, line: np.ndarray, r0: float, r1: float, value: int) -> None:
    """Paint a polyline (K, 3) mm whose radius tapers linearly from r0 to r1 mm."""
    painter.paint(line[:-1], line[1:], np.linspace(r0, r1, len(line) - 1), value)


def paint_tubes(tissue: np.ndarray, grid: Grid, anat: Anatomy, heart: Heart, tubes: list[Tube],
                lungs: list[LungTrees], airway_min: float, wall_factor: float) -> np.ndarray:
    """Paint airways and vessels into `tissue` (in place); return the vessel side map (uint8: 1 left, 2 right)."""
    vessels, outer, lumen = Painter(grid), Painter(grid), Painter(grid)
    trachea = np.stack([anat.trachea_top, anat.carina])
    for painter, factor in ((outer, wall_factor / WALL), (lumen, 1.0)):
        painter.paint(trachea[:1], trachea[1:], anat.trachea_radius * factor, 1)
        for lt in lungs:
            _paint_tree(painter, lt.airway, lt.airway.radius * factor, 1, airway_min * factor)
    _polyline(vessels, anat.aorta, anat.aorta_radius, anat.aorta_radius * 0.9, AORTA)
    _polyline(vessels, anat.trunk, anat.trunk_radius, anat.trunk_radius * 0.9, TRUNK)
    _polyline(vessels, heart.rvot, heart.rvot_radius, heart.rvot_radius, RVOT)
    _polyline(vessels, heart.lvot, heart.lvot_radius, heart.lvot_radius, LVOT)
    for tube in tubes:
        _polyline(vessels, tube.line, tube.r0, tube.r1, TUBE_ID[tube.tissue])
    for lt in lungs:
        art, vein_id = (ART_L, VEIN_L) if lt.side == 1 else (ART_R, VEIN_R)
        _polyline(vessels, lt.artery_root, lt.artery_root_radius, lt.artery.radius[1], art)
        _paint_tree(vessels, lt.artery, lt.artery.radius, art)
        for vein in lt.veins:
            _paint_tree(vessels, vein, vein.radius, vein_id)
    ids = vessels.ids
    chamber = np.isin(tissue, T.CHAMBERS)
    tissue[outer.ids > 0] = T.AIRWAY_WALL
    vessel = (ids > 0) & ~(chamber & (ids != RVOT) & (ids != LVOT))
    tissue[vessel] = TISSUE_OF[ids[vessel]]
    tissue[(lumen.ids > 0) & ~vessel] = T.AIRWAY_LUMEN
    side = SIDE_OF[ids]
    side[~np.isin(tissue, (T.PULM_ARTERY, T.PULM_VEIN))] = 0
    return side
