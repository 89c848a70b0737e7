"""Multi-scale Hessian vesselness (Frangi 1998) of bright tubes on a dark background, in torch, block-wise.

Seed 002 (LACAF) feeds a Hessian-eigenvalue tubularity map as a second input channel. This module is
hand-written because no installed library does all of: anisotropic sigmas in mm, scale-normalised (sigma²)
responses, bounded memory on 512³ CTs and GPU execution. `skimage.filters.frangi` is single-threaded numpy
(~100 s for 256x256x200 with three sigmas on 2 cores), isotropic in voxels and not scale-normalised; MONAI has
no vesselness filter. Here the Hessian comes from separable Gaussian smoothing (three 1-D `conv3d` passes
per sigma) and central differences, and the eigenvalues of each symmetric 3x3 Hessian from the closed-form
trigonometric method of Smith (1961, CACM 4:168) — elementwise tensor arithmetic, so it vectorises on CPU
threads and GPUs, unlike a batched `torch.linalg.eigvalsh` (slow, memory hungry on 10⁷ tiny matrices).
Large volumes are processed in overlapping blocks with a halo of 3 sigma (+1 voxel) so memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

TRUNCATE = 3.0  # Gaussian kernel radius in sigmas (also the block halo); 3 sigma keeps 99.7 % of the mass


def _gaussian_kernel(sigma_mm: float, step_mm: float) -> torch.Tensor:
    """(1, K) sampled, normalised Gaussian of `sigma_mm` for an axis sampled every `step_mm` mm."""
    radius = _radius(sigma_mm, step_mm)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64) * step_mm  # mm
    g = torch.exp(-0.5 * (x / sigma_mm) ** 2)
    return (g / g.sum()).float()[None]


def _radius(sigma_mm: float, step_mm: float) -> int:
    """Gaussian kernel radius (voxels) for `sigma_mm` on an axis with `step_mm` mm voxels."""
    return max(1, int(math.ceil(TRUNCATE * sigma_mm / step_mm)))


def _conv_axis(x: torch.Tensor, kernel: torch.Tensor, axis: int) -> torch.Tensor:
    """Valid 1-D correlation of (N, 1, X, Y, Z) `x` with (M, K) kernels along spatial `axis` → (N, M, ...)."""
    shape = [kernel.shape[0], 1, 1, 1, 1]
    shape[2 + axis] = kernel.shape[1]
    return F.conv3d(x, kernel.reshape(shape))


def hessian(block: torch.Tensor, sigma_mm: float | Sequence[float], spacing: Sequence[float]) -> list[torch.Tensor]:
    """Hessian [xx, yy, zz, xy, xz, yz] (per mm²) of a Gaussian-smoothed (X, Y, Z) block, valid region only.

    Separable Gaussian smoothing (3 conv passes) then second-order central differences: 4-5x faster than 15
    Gaussian-derivative passes, and within a few percent of them for sigma ≥ 1 voxel.
    """
    sig = [float(sigma_mm)] * 3 if isinstance(sigma_mm, (int, float)) else [float(v) for v in sigma_mm]
    kx, ky, kz = (_gaussian_kernel(g, s).to(block.device) for g, s in zip(sig, spacing))
    t = block[None, None]  # (1, 1, X, Y, Z)
    f = _conv_axis(_conv_axis(_conv_axis(t, kz, 2), ky, 1), kx, 0)[0, 0]
    dx, dy, dz = (float(s) for s in spacing)
    c2 = 2.0 * f[1:-1, 1:-1, 1:-1]
    xx = (f[2:, 1:-1, 1:-1] - c2 + f[:-2, 1:-1, 1:-1]) / dx**2
    yy = (f[1:-1, 2:, 1:-1] - c2 + f[1:-1, :-2, 1:-1]) / dy**2
    zz = (f[1:-1, 1:-1, 2:] - c2 + f[1:-1, 1:-1, :-2]) / dz**2
    xy = (f[2:, 2:, 1:-1] - f[2:, :-2, 1:-1] - f[:-2, 2:, 1:-1] + f[:-2, :-2, 1:-1]) / (4 * dx * dy)
    xz = (f[2:, 1:-1, 2:] - f[2:, 1:-1, :-2] - f[:-2, 1:-1, 2:] + f[:-2, 1:-1, :-2]) / (4 * dx * dz)
    yz = (f[1:-1, 2:, 2:] - f[1:-1, 2:, :-2] - f[1:-1, :-2, 2:] + f[1:-1, :-2, :-2]) / (4 * dy * dz)
    return [xx, yy, zz, xy, xz, yz]


def sym3_eigvals(h: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigenvalues (descending) of symmetric 3x3 matrices [a11, a22, a33, a12, a13, a23] (Smith 1961)."""
    a11, a22, a33, a12, a13, a23 = h
    q = (a11 + a22 + a33) / 3.0
    b11, b22, b33 = a11 - q, a22 - q, a33 - q
    p1 = a12 * a12 + a13 * a13 + a23 * a23
    p = torch.sqrt((b11 * b11 + b22 * b22 + b33 * b33 + 2.0 * p1) / 6.0).clamp_min(1e-12)
    det = (b11 * (b22 * b33 - a23 * a23) - a12 * (a12 * b33 - a23 * a13) + a13 * (a12 * a23 - b22 * a13))
    r = (det / (2.0 * p**3)).clamp(-1.0, 1.0)
    phi = torch.acos(r) / 3.0
    e1 = q + 2.0 * p * torch.cos(phi)
    e3 = q + 2.0 * p * torch.cos(phi + 2.0 * math.pi / 3.0)
    return e1, 3.0 * q - e1 - e3, e3


def frangi_from_eigvals(e: tuple[torch.Tensor, ...], alpha: float, beta: float, gamma: float) -> torch.Tensor:
    """Frangi vesselness of bright tubes from descending eigenvalues e1 >= e2 >= e3, in [0, 1].

    Bright tubes need the two eigenvalues of largest magnitude negative. With e1 >= e2 >= e3 that holds iff
    e2 < 0 and |e1| <= -e2, and then the magnitude order is |e1| <= |e2| <= |e3|: no sort is needed.
    """
    e1, e2, e3 = e
    valid = (e2 < 0) & (e1.abs() <= -e2)
    l2, l3 = (-e2).clamp_min(1e-10), (-e3).clamp_min(1e-10)
    ra2 = (l2 / l3) ** 2
    rb2 = e1 * e1 / (l2 * l3)
    s2 = e1 * e1 + e2 * e2 + e3 * e3
    v = (1.0 - torch.exp(ra2 * (-0.5 / alpha**2))) * torch.exp(rb2 * (-0.5 / beta**2))
    v = v * (1.0 - torch.exp(s2 * (-0.5 / gamma**2)))
    return torch.where(valid, v, torch.zeros_like(v))


Scale = tuple[float, tuple[float, float, float]]  # (nominal sigma mm, per-axis Gaussian sigma mm)


def _halo(scales: Sequence[Scale], spacing: Sequence[float]) -> list[int]:
    """Block halo (voxels per axis) = the largest Gaussian kernel radius, +1 for the central differences."""
    return [max(_radius(sc[1][a], spacing[a]) for sc in scales) + 1 for a in range(3)]


def _block_response(block: torch.Tensor, halo: Sequence[int], scales: Sequence[Scale], spacing: Sequence[float],
                    params: tuple[float, float, float], normalize: bool) -> torch.Tensor:
    """Max over scales of the vesselness of a halo-padded block; returns the block interior."""
    best: torch.Tensor | None = None
    for sigma, axes in scales:
        crop = [h - _radius(g, s) - 1 for h, g, s in zip(halo, axes, spacing)]
        sub = block[crop[0]:block.shape[0] - crop[0], crop[1]:block.shape[1] - crop[1],
                    crop[2]:block.shape[2] - crop[2]]
        h = hessian(sub, axes, spacing)
        norm = sigma**2 if normalize else 1.0  # scale normalisation (Lindeberg), sigma in mm
        # Only voxels that can respond: bright tubes have trace < 0, and where the Hessian norm S is below
        # gamma/10 the structuredness factor caps the response at 0.005 (set to 0). Skips flat lung/tissue.
        trace = h[0] + h[1] + h[2]
        s2 = h[0] ** 2 + h[1] ** 2 + h[2] ** 2 + 2.0 * (h[3] ** 2 + h[4] ** 2 + h[5] ** 2)
        keep = (trace < 0) & (s2 > (0.1 * params[2] / norm) ** 2)
        v = torch.zeros_like(trace)
        if bool(keep.any()):
            v[keep] = frangi_from_eigvals(sym3_eigvals([c[keep] * norm for c in h]), *params)
        best = v if best is None else torch.maximum(best, v)
    assert best is not None
    return best


def _block_edges(n: int, block: int) -> int:
    """Edge (voxels) of equal blocks tiling `n` voxels in ceil(n / block) pieces (≤ `block`)."""
    return -(-n // -(-n // block))


def _blockwise(image: np.ndarray, spacing: Sequence[float], scales: Sequence[Scale], block: int,
               params: tuple[float, float, float], normalize: bool, device: str | torch.device) -> np.ndarray:
    """Vesselness of a whole (X, Y, Z) image, in equal blocks of ≤ `block` voxels plus a halo.

    Equal block shapes (the image is padded by < one block count) let torch reuse its convolution
    primitives: each new shape costs ~0.4 s of set-up on CPU.
    """
    halo = _halo(scales, spacing)
    edges = [_block_edges(n, block) for n in image.shape]
    tail = [-n % e for n, e in zip(image.shape, edges)]
    padded = np.pad(np.asarray(image, dtype=np.float32), [(h, h + t) for h, t in zip(halo, tail)], mode="symmetric")
    out = np.empty([n + t for n, t in zip(image.shape, tail)], dtype=np.float32)
    bx, by, bz = edges
    for x0 in range(0, out.shape[0], bx):
        for y0 in range(0, out.shape[1], by):
            for z0 in range(0, out.shape[2], bz):
                sub = padded[x0:x0 + bx + 2 * halo[0], y0:y0 + by + 2 * halo[1], z0:z0 + bz + 2 * halo[2]]
                t = torch.from_numpy(np.ascontiguousarray(sub)).to(device)
                res = _block_response(t, halo, scales, spacing, params, normalize)
                out[x0:x0 + bx, y0:y0 + by, z0:z0 + bz] = res.cpu().numpy()
    return out[: image.shape[0], : image.shape[1], : image.shape[2]]


def _factor(sigma_vox: float, min_vox: float | None) -> int:
    """Pyramid decimation (1, 2 or 4) that keeps `sigma_vox` ≥ `min_vox` coarse voxels on one axis."""
    f = 1
    while min_vox and f < 4 and sigma_vox / (2 * f) >= min_vox:
        f *= 2
    return f


def pyramid_plan(sigmas: Sequence[float], spacing: Sequence[float],
                 min_vox: float | None) -> dict[tuple[int, int, int], list[Scale]]:
    """Group sigmas (mm) by per-axis decimation factors; each scale gets its per-axis Gaussian sigma (mm),
    reduced so that the 2x/4x box average of the decimation plus the Gaussian equals the nominal sigma."""
    plan: dict[tuple[int, int, int], list[Scale]] = {}
    for sigma in sigmas:
        f = tuple(_factor(sigma / s, min_vox) for s in spacing)
        axes = tuple(float(np.sqrt(sigma**2 - (k * k - 1) / 12.0 * s * s)) for k, s in zip(f, spacing))
        plan.setdefault(f, []).append((float(sigma), axes))  # type: ignore[arg-type]
    return plan  # type: ignore[return-value]


def _decimate(image: np.ndarray, f: Sequence[int]) -> np.ndarray:
    """Box-average an (X, Y, Z) image by integer factors (edge-padded to a multiple of them)."""
    pad = [(0, (-n) % k) for n, k in zip(image.shape, f)]
    padded = np.pad(image, pad, mode="symmetric") if any(p[1] for p in pad) else image
    t = torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32))[None, None]  # (1, 1, X, Y, Z)
    return F.avg_pool3d(t, kernel_size=tuple(f), stride=tuple(f))[0, 0].numpy()


def _upsample(coarse: np.ndarray, f: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Trilinear (half-voxel-centred) inverse of `_decimate`, cropped to `shape`."""
    t = torch.from_numpy(coarse)[None, None]
    size = tuple(n * k for n, k in zip(coarse.shape, f))
    up = F.interpolate(t, size=size, mode="trilinear", align_corners=False)[0, 0]
    return up[: shape[0], : shape[1], : shape[2]].numpy()


def tubularity(image: np.ndarray, spacing: Sequence[float], sigmas: Sequence[float] = (1.0, 2.0, 3.0),
               block: int = 128, alpha: float = 0.5, beta: float = 0.5, gamma: float = 0.1, normalize: bool = True,
               device: str | torch.device = "cpu", min_vox: float | None = 1.5) -> np.ndarray:
    """Vesselness in [0, 1] (float32, same shape) of a (X, Y, Z) image; `sigmas` and `spacing` in mm.

    `gamma` is the structuredness constant in image units (0.1 suits a [0, 1] windowed CT); it is fixed, not
    data-derived like skimage's default, so block-wise results equal the whole-volume result. Scales spanning
    ≥ 2·`min_vox` voxels on an axis run on a 2x (or 4x) box-decimated grid and are upsampled trilinearly
    (a Gaussian pyramid: ~8x fewer voxels); `min_vox=None` computes every scale at full resolution.
    """
    if image.ndim != 3:
        raise ValueError(f"expected a 3-D image, got shape {image.shape}")
    if not sigmas or min(sigmas) <= 0:
        raise ValueError(f"sigmas must be positive (mm), got {sigmas}")
    image = np.asarray(image, dtype=np.float32)
    params = (alpha, beta, gamma)
    out: np.ndarray | None = None
    with torch.no_grad():
        for f, scales in pyramid_plan(sigmas, spacing, min_vox).items():
            coarse = _decimate(image, f) if f != (1, 1, 1) else image
            sp = [s * k for s, k in zip(spacing, f)]
            res = _blockwise(coarse, sp, scales, block, params, normalize, device)
            res = _upsample(res, f, image.shape) if f != (1, 1, 1) else res
            out = res if out is None else np.maximum(out, res, out=out)
    assert out is not None
    return out
