"""Resampling between a canonical voxel grid and a target spacing (mm), with the exact inverse.

Interpolation is torch's `interpolate` (what MONAI's `Resize` wraps): "trilinear" (align_corners=False) for
images and probabilities, "nearest-exact" for label maps. Both directions use the same half-voxel-centred grid
convention, so `inverse_resample(resample(a))` has exactly `a.shape`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

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


def resize_image(array: np.ndarray, new_shape: Sequence[int], max_bytes: int = 64 << 20) -> np.ndarray:
    """(X, Y, Z) image of any real dtype (HU) → float32 C-ordered `new_shape` voxels, trilinear as `resize`.

    Memory-order aware and low-memory: slabs run along the array's slowest-varying axis (axis 2 of a NIfTI's
    Fortran-ordered array), only the source planes a slab reads are converted to float32, and about
    `max_bytes` of them are held at a time, so no float copy of the input is ever made. Separable: a two-plane
    lerp along the slab axis, then torch's bilinear `interpolate` (align_corners=False) in-plane; equal to
    `resize(array, new_shape, "linear")` up to float32 rounding (~1e-7 relative).
    Hand-written: torch/MONAI/SimpleITK resample whole float volumes (3.4 GB for a 1024x1024x800 CT).
    """
    new_shape = tuple(int(n) for n in new_shape)
    if array.ndim != 3 or len(new_shape) != 3:
        raise ValueError(f"resize_image takes a 3-D array and a 3-D shape, got {array.shape} → {new_shape}")
    order = [int(a) for a in np.argsort([-abs(s) for s in array.strides], kind="stable")]  # slowest axis first
    view = array.transpose(order)
    shape = tuple(new_shape[a] for a in order)
    out = np.empty(shape, dtype=np.float32)
    i0, i1, w = _torch_stencil(view.shape[0], shape[0])
    plane = 4 * view.shape[1] * view.shape[2]
    rows = max(1, int(max_bytes // (2 * plane)))
    weights = torch.from_numpy(w)
    for a in range(0, shape[0], rows):
        b = min(shape[0], a + rows)
        x = torch.from_numpy(view[i0[a:b]].astype(np.float32))  # (rows, Y, Z) source planes
        if w[a:b].any():  # torch's form: (1 - w) lo + w hi
            wb = weights[a:b, None, None]
            x = x.mul_(1 - wb).add_(torch.from_numpy(view[i1[a:b]].astype(np.float32)).mul_(wb))
        if tuple(x.shape[1:]) != shape[1:]:
            with torch.no_grad():
                x = F.interpolate(x[None], size=shape[1:], mode="bilinear", align_corners=False)[0]
        out[a:b] = x.numpy()
    return np.ascontiguousarray(out.transpose(np.argsort(order)))


def _torch_stencil(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`linear_stencil` computed in float32 exactly as torch's CPU trilinear kernel does (source index
    scale (i + 0.5) - 0.5 with scale = n_in / n_out in float32), so weights match it bit for bit."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = np.maximum(scale * (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5), np.float32(0))
    i0 = np.minimum(src.astype(np.intp), n_in - 1)
    w = np.clip(src - i0.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
    w[i0 >= n_in - 1] = 0.0  # torch: no second neighbour at the last index
    return i0, np.minimum(i0 + 1, n_in - 1), w


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


def nearest_lookup(array: np.ndarray, new_shape: Sequence[int]) -> Callable[[tuple[np.ndarray, ...]], np.ndarray]:
    """Function: voxel indices on `new_shape` → values of `resize_nearest(array, new_shape)` there, without
    building the resized array."""
    index = [nearest_indices(n, m) for n, m in zip(array.shape, new_shape)]
    return lambda where: array[tuple(i[w] for i, w in zip(index, where))]


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


def linear_stencil(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target voxel along one axis: the two source indices (i0, i1) and the float32 weight of i1, by
    torch's trilinear rule (align_corners=False: source coordinate (i + 0.5) n_in / n_out - 0.5, clamped at 0)."""
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    return i0, np.minimum(i0 + 1, n_in - 1), (src - i0).astype(np.float32)


def interpolate_points(array: np.ndarray, points: Sequence[np.ndarray], new_shape: Sequence[int],
                       channels: np.ndarray | None = None) -> np.ndarray:
    """Trilinear values (C, n) float32 of a (C, X, Y, Z) array resized to `new_shape`, at the target voxels
    `points` (three index arrays of length n) only; with `channels` (n,), only that channel per point: (n,).

    Hand-written: `interpolate`/`map_coordinates` evaluate whole grids. Separable lerps a + w (b - a) in float32
    (X, then Y, then Z), so each value depends on its own 8 neighbours and 3 weights alone: evaluating a subset
    gives bit for bit what evaluating every voxel gives, and the result lies within the neighbours' range.
    Agrees with `resize(array, new_shape)` to float32 rounding (~1e-7).
    """
    flat = np.ascontiguousarray(array, dtype=np.float32).reshape(-1)
    sx, sy = array.shape[2] * array.shape[3], array.shape[3]
    sten = [linear_stencil(n, int(m)) for n, m in zip(array.shape[1:], new_shape)]
    (x0, x1, wx), (y0, y1, wy), (z0, z1, wz) = ((s[0][p], s[1][p], s[2][p]) for s, p in zip(sten, points))
    x0, x1 = x0 * sx, x1 * sx
    if channels is None:
        offset = (np.arange(array.shape[0]) * (sx * array.shape[1]))[:, None]  # (C, 1) channel offsets
    else:
        offset = channels.astype(np.intp) * (sx * array.shape[1])
        x0, x1 = x0 + offset, x1 + offset
        offset = 0

    def lerp(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
        b -= a  # in place, same rounding as a + w * (b - a)
        b *= w
        b += a
        return b

    def along_x(y: np.ndarray, z: np.ndarray) -> np.ndarray:
        base = y * sy + z + offset  # flat offset within an X plane (per channel)
        return lerp(flat[x0 + base], flat[x1 + base], wx)

    return lerp(lerp(along_x(y0, z0), along_x(y1, z0), wy), lerp(along_x(y0, z1), along_x(y1, z1), wy), wz)
