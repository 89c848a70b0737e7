"""Resampling between a canonical voxel grid and a target spacing (mm), with the exact inverse.

Interpolation is torch's `interpolate` (what MONAI's `Resize` wraps): "trilinear" (align_corners=False) for
images and probabilities, "nearest-exact" for label maps. Both directions use the same half-voxel-centred grid
convention, so `inverse_resample(resample(a))` has exactly `a.shape`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each of `n_out` target voxels along one axis: torch's "nearest-exact" rule, in float32."""
    src = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * np.float32(n_in / n_out)
    return np.minimum(np.floor(src).astype(np.intp), n_in - 1)


def resize_nearest(array: np.ndarray, new_shape: Sequence[int]) -> np.ndarray:
    """(X, Y, Z) array of any dtype (bool, labels) → `new_shape` by nearest-exact indexing, without a float copy."""
    if tuple(array.shape) == tuple(new_shape):
        return array
    return array[np.ix_(*(nearest_indices(n, m) for n, m in zip(array.shape, new_shape)))]


def resize_linear_slabs(array: np.ndarray, new_shape: Sequence[int],
                        max_bytes: int = 128 << 20) -> Iterator[tuple[slice, torch.Tensor]]:
    """Trilinear resize of a (C, X, Y, Z) array to spatial `new_shape`, yielded as slabs along axis 0.

    Yields (axis-0 slice of the output, slab (rows, C, Y', Z') float32 tensor) with the values of
    `resize(array, new_shape, "linear")` (torch's trilinear, align_corners=False), computed separably: X by the
    same two-row weights on the coarse grid, then Y/Z by bilinear `interpolate`, while holding about `max_bytes`
    of output at a time. Hand-written: torch/MONAI resize whole tensors only, which for probabilities on a 512³
    input is GBs.
    """
    c, n = array.shape[0], array.shape[1]
    m, rest = int(new_shape[0]), tuple(int(v) for v in new_shape[1:])
    rows = max(1, int(max_bytes // max(1, 4 * c * rest[0] * rest[1])))
    coarse = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).transpose(0, 1)  # (X, C, Y, Z) view
    for a in range(0, m, rows):
        b = min(m, a + rows)
        src = np.maximum((np.arange(a, b) + 0.5) * (n / m) - 0.5, 0.0)  # source x coordinate, voxels
        i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        w = torch.from_numpy((src - i0).astype(np.float32))[:, None, None, None]
        with torch.no_grad():
            x = torch.lerp(coarse[torch.from_numpy(i0)], coarse[torch.from_numpy(i1)], w)  # (rows, C, Y, Z) coarse
            slab = F.interpolate(x, size=rest, mode="bilinear", align_corners=False) if x.shape[2:] != rest else x
        yield slice(a, b), slab
