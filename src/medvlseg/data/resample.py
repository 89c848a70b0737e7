"""Resampling between a canonical voxel grid and a target spacing (mm), with the exact inverse.

Interpolation is torch's `interpolate` (what MONAI's `Resize` wraps): "trilinear" (align_corners=False) for
images and probabilities, "nearest-exact" for label maps. Both directions use the same half-voxel-centred grid
convention, so `inverse_resample(resample(a))` has exactly `a.shape`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def target_shape(shape: Sequence[int], spacing: Sequence[float], target: Sequence[float]) -> tuple[int, int, int]:
    """Voxel shape that covers the same field of view (mm) as `shape` x `spacing` at `target` spacing (mm)."""
    return tuple(max(1, int(round(n * s / t))) for n, s, t in zip(shape, spacing, target))  # type: ignore[return-value]


def resized_spacing(shape: Sequence[int], spacing: Sequence[float], new_shape: Sequence[int]) -> tuple[float, ...]:
    """Actual voxel size (mm) after resizing `shape` at `spacing` to `new_shape` over the same field of view."""
    return tuple(float(n * s / m) for n, s, m in zip(shape, spacing, new_shape))


def resized_affine(affine: np.ndarray, shape: Sequence[int], new_shape: Sequence[int]) -> np.ndarray:
    """Voxel→world (mm) affine of the resized grid (same field of view, half-voxel-centred)."""
    scale = np.array(shape, dtype=np.float64) / np.array(new_shape, dtype=np.float64)
    step = np.eye(4)
    step[:3, :3] = np.diag(scale)
    step[:3, 3] = (scale - 1.0) / 2.0  # new voxel i sits at old voxel coordinate (i + 0.5) * scale - 0.5
    return np.asarray(affine, dtype=np.float64) @ step


def resize(array: np.ndarray, new_shape: Sequence[int], kind: str = "linear") -> np.ndarray:
    """Resize a (X, Y, Z) or (C, X, Y, Z) array to spatial `new_shape` voxels; kind "linear" or "nearest"."""
    new_shape = tuple(int(n) for n in new_shape)
    if tuple(array.shape[-3:]) == new_shape:
        return array
    if kind not in ("linear", "nearest"):
        raise ValueError(f"kind must be 'linear' or 'nearest', got {kind!r}")
    dtype = array.dtype
    t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    t = t.reshape((1, -1) + tuple(array.shape[-3:]))  # (1, C, X, Y, Z)
    with torch.no_grad():
        if kind == "linear":
            out = F.interpolate(t, size=new_shape, mode="trilinear", align_corners=False)
        else:
            out = F.interpolate(t, size=new_shape, mode="nearest-exact")
    res = out.reshape(tuple(array.shape[:-3]) + new_shape).numpy()
    if kind == "nearest" or np.issubdtype(dtype, np.integer):
        return np.rint(res).astype(dtype) if np.issubdtype(dtype, np.integer) else res.astype(dtype)
    return res.astype(dtype, copy=False)


def resample_to_spacing(array: np.ndarray, spacing: Sequence[float], target: Sequence[float],
                        kind: str = "linear") -> np.ndarray:
    """Resample a (X, Y, Z) or (C, X, Y, Z) array from `spacing` to `target` spacing (mm)."""
    return resize(array, target_shape(array.shape[-3:], spacing, target), kind)


def inverse_resample(array: np.ndarray, source_shape: Sequence[int], kind: str = "linear") -> np.ndarray:
    """Map an array on the resampled grid back to exactly `source_shape` voxels (the canonical input grid)."""
    return resize(array, source_shape, kind)
