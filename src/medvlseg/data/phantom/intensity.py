"""Hounsfield units of every tissue, the background anatomy image, lung texture, blur and correlated noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medvlseg.data.phantom.anatomy import Anatomy, lung_side
from medvlseg.data.phantom.presets import PhantomConfig
from medvlseg.data.phantom.raster import Grid


def draw_hu(config: PhantomConfig, rng: np.random.Generator, contrast: bool | None = None) -> dict[str, float | bool]:
    """Per-scan HU values (../shared/docs/phantom-anatomy.md); non-contrast scans share one blood value."""
    drawn = bool(rng.uniform() < config.contrast_fraction)
    contrast = drawn if contrast is None else bool(contrast)
    if contrast:  # overlapping ranges, either may be brighter
        artery, vein = float(rng.uniform(80, 500)), float(rng.uniform(80, 500))
    else:
        artery = vein = float(np.clip(rng.normal(42, 6), 28, 55))
    low_dose = bool(rng.uniform() < config.low_dose_fraction)
    return {
        "contrast": contrast, "artery": artery, "vein": vein, "low_dose": low_dose,
        "lung": float(np.clip(rng.normal(-850, 15), -890, -810)), "lung_gradient": float(rng.uniform(50, 150)),
        "lung_texture": float(rng.uniform(20, 40)), "airway_lumen": float(rng.uniform(-1000, -950)),
        "airway_wall": float(rng.uniform(0, 50)), "fat": float(np.clip(rng.normal(-100, 10), -130, -70)),
        "muscle": float(rng.uniform(40, 60)), "trabecular": float(rng.uniform(150, 300)),
        "cortical": float(rng.uniform(700, 1200)), "air": -1000.0,
        "noise_sigma": float(rng.uniform(30, 60) if low_dose else rng.uniform(10, 30)),
    }


def smooth_field(shape: tuple[int, int, int], spacing: np.ndarray, cell_mm: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Zero-mean unit-std random field (float32) varying over ~2–3 x cell_mm, upsampled to `shape`."""
    coarse_shape = [max(int(np.ceil(n * sp / cell_mm)) + 2, 3) for n, sp in zip(shape, spacing)]
    coarse = ndimage.gaussian_filter(rng.standard_normal(coarse_shape), 1.2, mode="wrap")
    coarse = (coarse - coarse.mean()) / max(float(coarse.std()), 1e-6)
    factors = [n / c for n, c in zip(shape, coarse_shape)]
    return ndimage.zoom(coarse.astype(np.float32), factors, order=1, grid_mode=True, mode="nearest")


def _body_slab(anat: Anatomy, X: np.ndarray, Y: np.ndarray, Z: np.ndarray, hu: dict) -> np.ndarray:
    """HU of air, fat, muscle, ribs, sternum and spine for a slab (broadcast X (x,1,1), Y (1,y,1), Z (1,1,z))."""
    s = anat.scale
    bx, by = anat.body_semi
    def ell(ax: float, ay: float) -> np.ndarray:
        return (X / ax) ** 2 + (Y / ay) ** 2
    img = np.full(np.broadcast_shapes(X.shape, Y.shape, Z.shape), hu["air"], dtype=np.float32)
    body = np.broadcast_to(ell(bx, by) < 1.0, img.shape)
    img[body] = hu["fat"]
    inner = np.broadcast_to(ell(bx - anat.fat, by - anat.fat) < 1.0, img.shape)
    img[inner] = hu["muscle"]
    thorax = ell(bx - anat.fat - anat.muscle, by - anat.fat - anat.muscle) < 1.0
    img[np.broadcast_to(thorax, img.shape)] = hu["fat"] + 0.3 * (hu["muscle"] - hu["fat"])
    cage = ell(*anat.cage_semi) < 1.0
    rib_band = thorax & ~cage & ~((np.abs(X) < 20 * s) & (Y > 0))
    rib = rib_band & (np.mod(Z - 0.35 * Y, anat.rib_pitch) < anat.rib_width)
    img[rib] = 0.5 * (hu["trabecular"] + hu["cortical"])
    sternum = (np.abs(X) < 16 * s) & (Y > anat.cage_semi[1] - 2 * s) & thorax
    img[np.broadcast_to(sternum, img.shape)] = hu["trabecular"]
    sx, sy, sr = anat.spine
    rr = np.hypot(X - sx, Y - sy)
    img[np.broadcast_to(rr < sr, img.shape)] = hu["cortical"]
    img[np.broadcast_to(rr < sr - 2.5 * s, img.shape)] = hu["trabecular"]
    back = sy - sr  # posterior edge of the vertebral body
    spinous = (np.abs(X) < 5 * s) & (Y < back) & (Y > back - 26 * s)
    lamina = (np.abs(X) < 20 * s) & (np.abs(Y - (back - 12 * s)) < 3.5 * s)
    canal = np.hypot(X - sx, Y - (back - 7 * s)) < 6.5 * s
    img[np.broadcast_to((spinous | lamina) & ~canal, img.shape)] = hu["cortical"]
    img[np.broadcast_to(canal, img.shape)] = 10.0
    return img


def _heart(anat: Anatomy, pts: np.ndarray, hu: dict) -> tuple[np.ndarray, np.ndarray]:
    """(mask, HU) of heart tissue at points (N, 3): myocardium, right ventricle, left atrium and ventricle."""
    def inside(c: np.ndarray, semi: np.ndarray) -> np.ndarray:
        return (((pts - c) / semi) ** 2).sum(axis=1) < 1.0
    mask = inside(anat.heart_centre, anat.heart_semi) | inside(anat.la_centre, anat.la_semi)
    val = np.full(len(pts), hu["muscle"], dtype=np.float32)
    val[inside(anat.rv_centre, anat.rv_semi)] = hu["artery"]
    val[inside(anat.lv_centre, anat.lv_semi)] = hu["vein"]
    val[inside(anat.la_centre, anat.la_semi)] = hu["vein"]
    return mask, val


def render_anatomy(anat: Anatomy, grid: Grid, hu: dict, rng: np.random.Generator,
                   slab: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Background HU image (float32) and lung mask (uint8: 1 left, 2 right) on `grid`, without tubes."""
    xs, ys, zs = grid.axes()
    image = np.empty(grid.shape, dtype=np.float32)
    lung = np.zeros(grid.shape, dtype=np.uint8)
    texture = smooth_field(grid.shape, grid.spacing, 6.0, rng)
    y_front = anat.lung_centre[:, 1].mean() + anat.lung_semi[:, 1].mean()
    X, Y = xs[:, None, None], ys[None, :, None]
    for z0 in range(0, grid.shape[2], slab):
        zz = zs[z0:z0 + slab]
        Z = zz[None, None, :]
        img = _body_slab(anat, X, Y, Z, hu)
        pts = np.stack(np.broadcast_arrays(X, Y, Z), axis=-1).reshape(-1, 3)  # (x*y*z, 3) mm
        flat = img.reshape(-1)
        heart, heart_hu = _heart(anat, pts, hu)
        flat[heart] = heart_hu[heart]
        side = lung_side(anat, pts)
        in_lung = side > 0
        post = np.clip((y_front - pts[in_lung, 1]) / (2 * anat.lung_semi[:, 1].mean()), 0, 1)
        tex = texture[:, :, z0:z0 + slab].reshape(-1)[in_lung]
        flat[in_lung] = hu["lung"] + hu["lung_gradient"] * post + hu["lung_texture"] * tex
        image[:, :, z0:z0 + slab] = img
        lung[:, :, z0:z0 + slab] = side.reshape(img.shape)
    return image, lung


def blur_and_noise(image: np.ndarray, spacing: np.ndarray, config: PhantomConfig, hu: dict,
                   rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """Gaussian scanner blur (FWHM mm) and spatially correlated noise (σ HU), in place-safe; returns the image."""
    fwhm_xy = rng.uniform(*config.fwhm_xy)
    fwhm_z = rng.uniform(*config.fwhm_z_factor) * spacing[2]
    fwhm = np.array([fwhm_xy, fwhm_xy, fwhm_z])
    sigma_vox = np.maximum(fwhm / 2.3548 / spacing, 0.45)  # ≥ 0.45 voxel: partial volume of the grid itself
    out = ndimage.gaussian_filter(image, sigma_vox, mode="nearest")
    noise = ndimage.gaussian_filter(rng.standard_normal(image.shape, dtype=np.float32), 0.7)
    noise *= hu["noise_sigma"] / max(float(noise.std()), 1e-6)
    out += noise
    return out, {"fwhm_xy_mm": float(fwhm_xy), "fwhm_z_mm": float(fwhm_z)}
