"""The synthetic-data engine: `synth_case(config, seed) -> PhantomCase`, label geometry first, appearance later.

Order of draws (all from one seeded generator): chest size and landmarks → heart pose → great vessels → lung
warp → field of view and voxel size → airway/artery/vein trees → distractors → contrast phase and tissue HU →
tissue map on a fine grid (output spacing / supersample) → HU, PSF, block average → noise and artifacts.
The returned case carries `tissue` (uint8 ids of `tissues`, on the output grid) besides the classic arrays.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.airways import GrowthParams
from medvlseg.data.phantom.anatomy import Anatomy, make_anatomy
from medvlseg.data.phantom.appearance import draw_appearance, draw_phase
from medvlseg.data.phantom.body import make_warp
from medvlseg.data.phantom.distractors import draw_distractors
from medvlseg.data.phantom.generator import PhantomCase
from medvlseg.data.phantom.great_vessels import make_great_vessels
from medvlseg.data.phantom.heart import make_heart
from medvlseg.data.phantom.imaging import (add_noise_and_artifacts, block_max, consistent_tissue,
                                          downsample_labels, fine_hu, sample_and_blur)
from medvlseg.data.phantom.intensity import smooth_field
from medvlseg.data.phantom.labelmap import paint_tubes, render_tissue, repeat_k
from medvlseg.data.phantom.raster import Grid
from medvlseg.data.phantom.synth_presets import SynthConfig, fov_box
from medvlseg.data.phantom.vessels import LungTrees, grow_lung

log = logging.getLogger(__name__)


def draw_grids(config: SynthConfig, centre: np.ndarray, extent: np.ndarray,
               rng: np.random.Generator) -> tuple[Grid, Grid, int]:
    """Output grid (spacing drawn, grown until ≤ max_voxels), the fine grid and the supersampling factor."""
    sxy = rng.uniform(*config.spacing_xy)
    spacing = np.array([sxy, sxy, rng.uniform(*config.spacing_z)])
    shape = np.maximum(np.ceil(extent / spacing).astype(int), 8)
    if shape.prod() > config.max_voxels:
        spacing *= (shape.prod() / config.max_voxels) ** (1 / 3)
        shape = np.maximum(np.ceil(extent / spacing).astype(int), 8)
    k = config.supersample if shape.prod() * config.supersample ** 3 <= config.max_fine_voxels else 1
    origin = centre - (shape - 1) / 2.0 * spacing
    grid = Grid(tuple(shape), spacing, origin)
    fine_spacing = spacing / k
    fine = Grid(tuple(shape * k), fine_spacing, origin - (k - 1) / 2.0 * fine_spacing)
    return grid, fine, k


def landmarks(anat: Anatomy, lungs: list[LungTrees]) -> dict[str, list]:
    """World positions (mm) the checks use: pulmonary valve, trunk bifurcation, chamber centres, vein ostia."""
    return {"pulmonary_valve": anat.trunk[0].round(2).tolist(), "bifurcation": anat.trunk[-1].round(2).tolist(),
            "trunk_mid": anat.trunk[1].round(2).tolist(), "rv_centre": anat.rv_centre.round(2).tolist(),
            "la_centre": anat.la_centre.round(2).tolist(), "aorta_arch": anat.aorta[2].round(2).tolist(),
            "ostia": [v.points[0].round(2).tolist() for lt in lungs for v in lt.veins]}


def synth_case(config: SynthConfig, seed: int, contrast: str | None = None, fov: str | None = None) -> PhantomCase:
    """One engine case (canonical RAS+, HU, mm), a pure function of (config, seed, contrast, fov)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 15])
    anat = make_anatomy(float(rng.uniform(*config.scale)), rng, config.radius_boost)
    heart = make_heart(anat, rng)
    tubes = make_great_vessels(anat, heart, rng)
    anat.warp = make_warp(anat, rng)
    fov_name = fov or str(config.fov[int(rng.integers(len(config.fov)))])
    grid, fine, k = draw_grids(config, *fov_box(fov_name, anat, rng), rng)
    min_sp = float(grid.spacing.min())
    params = GrowthParams(gamma=float(rng.uniform(2.5, 3.0)),
                          stop_radius=max(config.stop_radius_mm, config.stop_radius_vox * min_sp),
                          min_length=max(2.0, min_sp))
    ratio = float(rng.uniform(1.0, 1.3))
    ostia = (1 if rng.uniform() < 0.15 else 2, 3 if rng.uniform() < 0.25 else 2)  # common left trunk / right middle
    lungs = [grow_lung(anat, side, params, config.max_points, ratio, rng, ostia[side - 1]) for side in (1, 2)]
    distractors = draw_distractors(anat, config.distractor_rate, rng)
    app = draw_appearance(draw_phase(contrast or config.contrast, rng), config.low_dose_fraction, rng)
    t1 = time.perf_counter()
    emph = smooth_field(grid.shape, grid.spacing, 4.0, rng)
    tissue_f, lung_f = render_tissue(anat, heart, distractors, grid, k, emph)
    airway_min = max(0.75 * anat.scale * config.radius_boost, 0.45 * min_sp)
    side_f = paint_tubes(tissue_f, fine, anat, heart, tubes, lungs, airway_min, distractors.wall_factor)
    t2 = time.perf_counter()
    ys = fine.axes()[1]
    post = np.clip((ys.max() - ys) / max(float(np.ptp(ys)), 1.0), 0.0, 1.0).astype(np.float32)
    hu = fine_hu(tissue_f, app, repeat_k(smooth_field(grid.shape, grid.spacing, 6.0, rng), k), post)
    fwhm = np.array([rng.uniform(*config.fwhm_xy)] * 2 + [rng.uniform(*config.thickness) * grid.spacing[2]])
    breathing = bool(rng.uniform() < config.artifact_rate)
    if breathing:  # respiratory motion: extra blur along z and y
        fwhm += np.array([0.0, rng.uniform(0.5, 2.0), rng.uniform(1.0, 4.0)])
    image = sample_and_blur(hu, tissue_f, app, k, grid.spacing, fwhm, rng)
    del hu
    label, side = downsample_labels(tissue_f, side_f, k)
    lung = block_max(lung_f, k)
    pick = (slice(k // 2, None, k),) * 3  # one sub-voxel per voxel, then made to agree with the labels
    tissue = consistent_tissue(tissue_f[pick][: grid.shape[0], : grid.shape[1], : grid.shape[2]], label, lung)
    dense = np.argwhere(tissue == (T.SVC if app.phase == "arterial" else T.CORTICAL))
    streak_at = dense.mean(axis=0) if len(dense) else np.array(grid.shape) / 2
    artifacts = add_noise_and_artifacts(image, grid.spacing, app, config.artifact_rate, streak_at, rng)
    orientation = str(config.orientations[int(rng.integers(len(config.orientations)))])
    t3 = time.perf_counter()
    meta = {"seed": int(seed), "engine": "synth", "contrast": app.phase != "none", "phase": app.phase,
            "hu": app.summary(), "fov": fov_name, "orientation": orientation, "anatomy_scale": anat.scale,
            "supersample": k, "murray_gamma": params.gamma, "artery_airway_ratio": ratio,
            "vein_ostia": list(ostia), "landmarks_mm": landmarks(anat, lungs),
            "fwhm_mm": fwhm.round(3).tolist(), "breathing_blur": breathing, "distractors": distractors.summary(),
            **artifacts, "timing_s": {"trees": t1 - t0, "labelmap": t2 - t1, "image": t3 - t2}}
    log.debug("synth seed %d: trees %.2fs labelmap %.2fs image %.2fs", seed, t1 - t0, t2 - t1, t3 - t2)
    return PhantomCase(image=np.clip(np.rint(image), -1024, 3071).astype(np.int16), label=label,
                       lung=np.ascontiguousarray(lung), airway=(np.isin(tissue, (T.AIRWAY_LUMEN, T.AIRWAY_WALL))
                                                                & (label == 0)).astype(np.uint8),
                       side=side, affine=grid.affine(), spacing=tuple(float(s) for s in grid.spacing), meta=meta,
                       tissue=np.ascontiguousarray(tissue))
