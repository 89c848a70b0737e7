"""Imaging simulation: the tissue map on the fine grid → HU (tissue means, textures, lung gradient) → scanner
point-spread function (in-plane FWHM, slice profile, optional breathing blur) → block average onto the output
grid (partial volume from real sub-voxel geometry) → correlated noise (standard or low dose), bias field, streaks.

Labels go down the same way: a voxel is artery (vein) when at least half of its fine sub-voxels are.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.appearance import Appearance
from medvlseg.data.phantom.intensity import smooth_field

FWHM_TO_SIGMA = 1.0 / 2.3548


def block_mean(array: np.ndarray, k: int) -> np.ndarray:
    """Mean over non-overlapping k³ blocks (float32); sums strided views axis by axis (4x faster than a
    6-D reshape mean)."""
    if k == 1:
        return array.astype(np.float32, copy=False)
    x, y, z = (n // k for n in array.shape)
    view = array[: x * k, : y * k, : z * k].reshape(x, k, y, k, z, k)
    s = view[..., 0].astype(np.float32)
    for i in range(1, k):
        s += view[..., i]
    t = s[:, :, :, 0].copy()
    for i in range(1, k):
        t += s[:, :, :, i]
    u = t[:, 0].copy()
    for i in range(1, k):
        u += t[:, i]
    return u / np.float32(k ** 3)


def block_max(array: np.ndarray, k: int) -> np.ndarray:
    """Maximum over non-overlapping k³ blocks."""
    if k == 1:
        return array
    x, y, z = (n // k for n in array.shape)
    return array[: x * k, : y * k, : z * k].reshape(x, k, y, k, z, k).max(axis=(1, 3, 5))


def fine_hu(tissue: np.ndarray, app: Appearance, lung_field: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Noise-free HU (float32) of the fine tissue map: tissue means + lung gravity gradient and texture.

    `lung_field` (fine shape, ~N(0, 1), low frequency) and `post` (fine y axis, 0 anterior → 1 posterior)."""
    image = app.mean[tissue]
    lung = tissue == T.LUNG
    image[lung] += (app.lung_gradient * np.broadcast_to(post[None, :, None], tissue.shape)[lung]
                    + app.lung_texture * lung_field[lung])
    return image


def sample_and_blur(image: np.ndarray, tissue: np.ndarray, app: Appearance, k: int, spacing: np.ndarray,
                    fwhm_mm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """k³ block mean of the fine HU (partial volume), per-tissue texture (std of the sub-voxels' tissues, on the
    output grid), then the Gaussian PSF of `fwhm_mm` (x, y, z) on the output grid (HU, float32).

    Blurring after the block mean equals blurring before it up to the block's own width, at 1/k³ of the cost."""
    out = block_mean(image, k)
    texture = ndimage.gaussian_filter(rng.standard_normal(out.shape, dtype=np.float32), 0.6)
    texture /= max(float(texture.std()), 1e-6)
    out += block_mean(app.std[tissue], k) * texture
    return ndimage.gaussian_filter(out, fwhm_mm * FWHM_TO_SIGMA / spacing, mode="nearest", truncate=3.0)


def add_noise_and_artifacts(image: np.ndarray, spacing: np.ndarray, app: Appearance, artifact_rate: float,
                            streak_centre: np.ndarray, rng: np.random.Generator) -> dict:
    """Correlated noise (σ HU), and each with probability `artifact_rate`: bias field, streaks (in place)."""
    noise = ndimage.gaussian_filter(rng.standard_normal(image.shape, dtype=np.float32), 0.7)
    noise *= app.noise_sigma / max(float(noise.std()), 1e-6)
    image += noise
    meta: dict = {"noise_sigma": app.noise_sigma}
    if rng.uniform() < artifact_rate:
        amp = float(rng.uniform(10, 40))
        image += amp * smooth_field(image.shape, spacing, 60.0, rng)
        meta["bias_hu"] = amp
    if rng.uniform() < artifact_rate:  # radial streaks from a dense object, constant along z
        amp, n_rays = float(rng.uniform(20, 100)), int(rng.integers(6, 20))
        x = (np.arange(image.shape[0]) - streak_centre[0])[:, None] * spacing[0]
        y = (np.arange(image.shape[1]) - streak_centre[1])[None, :] * spacing[1]
        theta, r = np.arctan2(y, x), np.hypot(x, y)
        streak = amp * np.cos(n_rays * theta + rng.uniform(0, 2 * np.pi)) * np.exp(-r / rng.uniform(40, 120))
        image += streak.astype(np.float32)[:, :, None]
        meta["streaks_hu"] = amp
    return meta


def downsample_labels(tissue: np.ndarray, side: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """3-class label (1 artery, 2 vein: ≥ half the sub-voxels) and vessel side (1 left, 2 right) on the output grid."""
    art, vein = block_mean(tissue == T.PULM_ARTERY, k), block_mean(tissue == T.PULM_VEIN, k)
    label = np.zeros(art.shape, dtype=np.uint8)
    label[vein >= 0.5] = 2
    label[art >= 0.5] = 1
    out_side = block_max(side, k)
    out_side[label == 0] = 0
    return label, out_side


def block_mode(tissue: np.ndarray, k: int) -> np.ndarray:
    """Most frequent tissue id (uint8) in every k³ block (ties → the lower id)."""
    if k == 1:
        return tissue
    present = np.flatnonzero(np.bincount(tissue.ravel(), minlength=T.N_TISSUES))
    best = np.zeros(tuple(n // k for n in tissue.shape), dtype=np.float32)
    out = np.zeros(best.shape, dtype=np.uint8)
    for tid in present:
        share = block_mean(tissue == tid, k)
        win = share > best
        best[win], out[win] = share[win], tid
    return out


def consistent_tissue(tissue: np.ndarray, label: np.ndarray, lung: np.ndarray) -> np.ndarray:
    """Output tissue map agreeing with the label: labelled voxels are their vessel, unlabelled pulmonary-vessel
    voxels (under half vessel) become the surrounding parenchyma (lung) or mediastinal fat."""
    out = tissue.copy()
    stray = (label == 0) & np.isin(out, (T.PULM_ARTERY, T.PULM_VEIN))
    out[stray & (lung > 0)] = T.LUNG
    out[stray & (lung == 0)] = T.FAT
    out[label == 1] = T.PULM_ARTERY
    out[label == 2] = T.PULM_VEIN
    return out
