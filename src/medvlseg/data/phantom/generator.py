"""One synthetic chest CT: `generate_case(config, seed) -> PhantomCase` (canonical RAS+ arrays).

Contract extension (documented here): `PhantomCase.side` gives each vessel voxel a lung side, 1 = patient's left,
2 = right: the lung whose tree the voxel belongs to, hilar parts included (left/right pulmonary artery from the
trunk bifurcation on, each pulmonary vein up to its left-atrial ostium); the pulmonary trunk itself counts as
left (it lies left of the midline and continues as the left pulmonary artery), so every side's arterial tree is
one connected piece. Half-labelled cases zero the other side's labels.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from medvlseg.data.phantom.airways import GrowthParams, Tree
from medvlseg.data.phantom.anatomy import Anatomy, make_anatomy
from medvlseg.data.phantom.intensity import blur_and_noise, draw_hu, render_anatomy
from medvlseg.data.phantom.mri import MODALITIES, bias_and_rician, draw_signal, signal_table
from medvlseg.data.phantom.presets import PhantomConfig
from medvlseg.data.phantom.raster import Grid, Painter, segments_of
from medvlseg.data.phantom.vessels import WALL, LungTrees, grow_lung

log = logging.getLogger(__name__)

# painted structure ids: (artery, vein) of the left lung, of the right lung, the shared trunk, the aorta
ARTERY_L, VEIN_L, ARTERY_R, VEIN_R, TRUNK, AORTA = 1, 2, 3, 4, 6, 5
ARTERY_IDS, VEIN_IDS = (ARTERY_L, ARTERY_R, TRUNK), (VEIN_L, VEIN_R)


@dataclass
class PhantomCase:
    """A phantom in canonical RAS+ voxel order: image (int16 HU), label (uint8: 1 artery, 2 vein),
    lung (uint8: 1 left, 2 right), airway (uint8 mask: lumen + wall), side (uint8: lung side of each voxel
    for vessels, see module docstring), affine (4x4 voxel→world mm), spacing (mm), meta (JSON-able)."""

    image: np.ndarray
    label: np.ndarray
    lung: np.ndarray
    airway: np.ndarray
    side: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]
    meta: dict = field(default_factory=dict)
    tissue: np.ndarray | None = None  # engine cases (phantom.synth): uint8 tissue ids of phantom.tissues

    def label5(self) -> np.ndarray:
        """5-class label (uint8): 1 left artery, 2 left vein, 3 right artery, 4 right vein (docs/architecture.md)."""
        out = self.label.copy()
        out[self.side == 2] += 2
        return out


def make_grid(config: PhantomConfig, rng: np.random.Generator) -> tuple[Grid, float]:
    """Draw spacing (mm) and a random crop offset; return the grid and the anatomy scale (1 = adult)."""
    sxy = rng.uniform(*config.spacing_xy)
    spacing = np.array([sxy, sxy, rng.uniform(*config.spacing_z)])
    fov = np.array(config.shape) * spacing
    scale = config.anatomy_scale or float(min(config.body_fill * fov[0] / 320.0, fov[2] / 270.0))
    shift = rng.uniform(-1.0, 1.0, 3) * config.crop_shift * fov
    origin = -(np.array(config.shape) - 1) / 2.0 * spacing + shift
    origin[2] += 5.0 * scale  # centre on the lungs rather than on the heart
    return Grid(config.shape, spacing, origin), scale


def _paint_tree(painter: Painter, tree: Tree, radius: np.ndarray, value: int, min_radius: float = 0.0) -> None:
    """Paint every segment of `tree` whose radius (mm) is ≥ min_radius."""
    a, b, idx = segments_of(tree.points, tree.parent)
    keep = radius[idx] >= min_radius
    painter.paint(a[keep], b[keep], radius[idx][keep], value)


def _polyline(painter: Painter, line: np.ndarray, r0: float, r1: float, value: int) -> None:
    """Paint a polyline (K, 3) mm whose radius tapers linearly from r0 to r1 mm."""
    radii = np.linspace(r0, r1, len(line) - 1)
    painter.paint(line[:-1], line[1:], radii, value)


def paint_tubes(grid: Grid, anat: Anatomy, lungs: list[LungTrees], airway_min: float) -> tuple[np.ndarray, ...]:
    """Rasterise vessels (ids: ARTERY_L/R, VEIN_L/R, TRUNK, AORTA), airway outer wall and lumen masks."""
    vessels, outer, lumen = Painter(grid), Painter(grid), Painter(grid)
    trachea = np.stack([anat.trachea_top, anat.carina])
    for painter, factor in ((outer, 1.0 / WALL), (lumen, 1.0)):
        painter.paint(trachea[:1], trachea[1:], anat.trachea_radius * factor, 3)
        for lt in lungs:
            _paint_tree(painter, lt.airway, lt.airway.radius * factor, 3, airway_min / WALL * (factor * WALL))
    _polyline(vessels, anat.aorta, anat.aorta_radius, anat.aorta_radius * 0.9, AORTA)
    _polyline(vessels, anat.trunk, anat.trunk_radius, anat.trunk_radius * 0.9, TRUNK)
    for lt in lungs:
        art, vein_id = (ARTERY_L, VEIN_L) if lt.side == 1 else (ARTERY_R, VEIN_R)
        _polyline(vessels, lt.artery_root, lt.artery_root_radius, lt.artery.radius[1], art)
        _paint_tree(vessels, lt.artery, lt.artery.radius, art)
        for vein in lt.veins:
            _paint_tree(vessels, vein, vein.radius, vein_id)
    return vessels.ids, outer.ids > 0, lumen.ids > 0


def compose(background: np.ndarray, ids: np.ndarray, outer: np.ndarray, lumen: np.ndarray,
            hu: dict) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free HU image (float32) and 3-class label (uint8) from the background and the tube masks."""
    image = background.copy()
    image[outer] = hu["airway_wall"]
    artery, vein = np.isin(ids, ARTERY_IDS), np.isin(ids, VEIN_IDS)
    image[artery] = hu["artery"]
    image[vein | (ids == AORTA)] = hu["vein"]
    image[lumen & ~(artery | vein)] = hu["airway_lumen"]  # vessels win where a tube grazes an airway
    label = np.zeros(ids.shape, dtype=np.uint8)
    label[artery] = 1
    label[vein] = 2
    return image, label


def side_map(label: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Lung side (1 left, 2 right) of every labelled voxel: its tree's lung; the pulmonary trunk is left."""
    side = np.zeros(label.shape, dtype=np.uint8)
    side[np.isin(ids, (ARTERY_L, VEIN_L, TRUNK))] = 1
    side[np.isin(ids, (ARTERY_R, VEIN_R))] = 2
    side[label == 0] = 0
    return side


def generate_case(config: PhantomConfig, seed: int, contrast: bool | None = None,
                  modality: str = "ct") -> PhantomCase:
    """Generate one phantom chest CT (HU, mm) deterministically from `seed`; `contrast` forces the phase.

    `modality="mri"` renders the same anatomy, labels and orientation as the CT of this seed with the MRI-like
    signal model of `phantom.mri` (pseudo-HU); the CT default draws exactly what it always drew."""
    if modality not in MODALITIES:
        raise ValueError(f"phantom modality must be one of {MODALITIES}, got {modality!r}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    grid, scale = make_grid(config, rng)
    anat = make_anatomy(scale, rng, config.radius_boost)
    min_sp = float(grid.spacing.min())
    params = GrowthParams(gamma=float(rng.uniform(2.5, 3.0)),
                          stop_radius=max(config.stop_radius_mm, config.stop_radius_vox * min_sp),
                          min_length=max(2.0, min_sp))
    ratio = float(rng.uniform(1.0, 1.3))
    lungs = [grow_lung(anat, side, params, config.max_points, ratio, rng) for side in (1, 2)]
    t1 = time.perf_counter()
    hu = draw_hu(config, rng, contrast)
    mri_rng = np.random.default_rng([seed, 4]) if modality == "mri" else None
    signal = draw_signal(mri_rng) if mri_rng is not None else None
    table = signal_table(signal) if signal is not None else hu
    background, lung = render_anatomy(anat, grid, table, rng)
    airway_min = max(0.75 * scale * config.radius_boost, 0.45 * min_sp)
    ids, outer, lumen = paint_tubes(grid, anat, lungs, airway_min)
    t2 = time.perf_counter()
    clean, label = compose(background, ids, outer, lumen, table)
    if signal is None:
        image, blur = blur_and_noise(clean, grid.spacing, config, hu, rng)
    else:  # same blur and random draws as the CT (noise zeroed), then bias field + Rician noise
        image, blur = blur_and_noise(clean, grid.spacing, config, {**table, "noise_sigma": 0.0}, rng)
        image = bias_and_rician(image, grid.spacing, signal, mri_rng)
    image = np.clip(np.rint(image), -1024, 3071).astype(np.int16)
    orientation = str(config.orientations[int(rng.integers(len(config.orientations)))])
    meta = {"seed": int(seed), "contrast": hu["contrast"], "hu": hu, "orientation": orientation,
            "anatomy_scale": scale, "murray_gamma": params.gamma, "artery_airway_ratio": ratio,
            "stop_radius_mm": params.stop_radius, **blur}
    if signal is not None:
        meta.update(modality="mri", mri_signal=signal)
    t3 = time.perf_counter()
    meta["timing_s"] = {"trees": t1 - t0, "raster": t2 - t1, "image": t3 - t2}
    log.debug("phantom seed %d: trees %.2fs raster %.2fs image %.2fs", seed, t1 - t0, t2 - t1, t3 - t2)
    return PhantomCase(image=image, label=label, lung=lung, airway=((outer | lumen) & (label == 0)).astype(np.uint8),
                       side=side_map(label, ids), affine=grid.affine(),
                       spacing=tuple(float(s) for s in grid.spacing), meta=meta)
