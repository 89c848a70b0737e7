"""Labels decided on the input grid from working-grid probabilities, interpolating only where the label is open.

Trilinear interpolation is a convex combination of a voxel's 8 working-grid neighbours (its stencil), and the
float32 lerps of `medvlseg.data.resample.interpolate_points` keep every value within its neighbours' range. So
for sigmoid outputs: if no neighbour has a class at or above the threshold, the input voxel is background; if
every neighbour has the same single class above it (all others below), the voxel takes that class. For softmax
the same holds for a class that beats every other by `SOFTMAX_MARGIN` at all 8 neighbours (the margin covers
float32 rounding of the differences). Only the remaining input voxels (the shell around class boundaries) are
interpolated and decided by the predictor's own rule, so the labels are those of interpolating every voxel,
bit for bit, at a fraction of the work.

Hand-written: no library decides a thresholded trilinear upsampling sparsely.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np

from medvlseg.data.resample import interpolate_points, linear_stencil

MIXED = 254  # working voxel: more than one outcome possible
OPEN = 255  # input voxel whose stencil is not one pure code: interpolate
SOFTMAX_MARGIN = 1e-5  # probability margin a softmax class needs over every other to be "pure"
Decider = Callable[[np.ndarray], np.ndarray]  # probabilities (K', n) → labels (n,) uint8


def coarse_codes(probs: np.ndarray, activation: str, threshold: float = 0.5) -> np.ndarray:
    """Working-grid (K', X, Y, Z) probabilities → uint8 codes: 0 nothing above `threshold` (sigmoid), c+1 channel c
    alone decides (sigmoid: only c at/above threshold; softmax: c beats all others by SOFTMAX_MARGIN), else MIXED."""
    if probs.shape[0] >= MIXED - 1:
        raise ValueError(f"at most {MIXED - 2} channels, got {probs.shape[0]}")
    codes = np.full(probs.shape[1:], MIXED, dtype=np.uint8)
    if activation == "sigmoid":
        above = probs >= threshold
        count = above.sum(0, dtype=np.uint8)
        codes[count == 0] = 0
        single = count == 1
        codes[single] = (above.argmax(0)[single] + 1).astype(np.uint8)
        return codes
    order = np.sort(probs, axis=0)
    pure = order[-1] - order[-2] >= SOFTMAX_MARGIN if probs.shape[0] > 1 else np.ones(probs.shape[1:], bool)
    codes[pure] = (probs.argmax(0)[pure] + 1).astype(np.uint8)
    return codes


def stencil_codes(codes: np.ndarray) -> np.ndarray:
    """Code shared by the 2x2x2 stencil starting at each working voxel (edge-replicated), OPEN where they differ
    or are MIXED."""
    pad = np.pad(codes, 1, mode="edge")[1:, 1:, 1:]  # one extra voxel at the far end of each axis
    n = codes.shape
    lo, hi = codes.copy(), codes.copy()
    for dx, dy, dz in product((0, 1), repeat=3):
        if dx or dy or dz:
            view = pad[dx:dx + n[0], dy:dy + n[1], dz:dz + n[2]]
            np.minimum(lo, view, out=lo)
            np.maximum(hi, view, out=hi)
    return np.where((lo == hi) & (hi != MIXED), hi, OPEN).astype(np.uint8)


def code_labels(decider: Decider, channels: int) -> np.ndarray:
    """Lookup table code → label (uint8, 256 entries): code 0 = all channels 0, code c+1 = channel c alone at 1."""
    table = np.zeros(256, dtype=np.uint8)
    probes = np.zeros((channels, channels + 1), dtype=np.float32)
    probes[np.arange(channels), np.arange(1, channels + 1)] = 1.0
    table[: channels + 1] = decider(probes)
    return table


def decide_on_grid(probs: np.ndarray, shape: Sequence[int], decider: Decider, activation: str,
                   threshold: float = 0.5, max_voxels: int = 1 << 24, exhaustive: bool = False) -> np.ndarray:
    """Working-grid probabilities (K', X, Y, Z) → labels (uint8) on the input grid `shape` (voxels) as if every
    voxel were trilinearly interpolated and decided by `decider`; slabs of about `max_voxels` input voxels.

    `exhaustive` interpolates every voxel (the reference the sparse path is tested against).
    """
    shape = tuple(int(n) for n in shape)
    block = np.full(probs.shape[1:], OPEN, np.uint8) if exhaustive else \
        stencil_codes(coarse_codes(probs, activation, threshold))
    table = code_labels(decider, probs.shape[0])
    (x0, _, _), (y0, _, _), (z0, _, _) = (linear_stencil(n, m) for n, m in zip(probs.shape[1:], shape))
    ny, nz = np.bincount(y0, minlength=probs.shape[2]), np.bincount(z0, minlength=probs.shape[3])  # x0.. sorted
    labels = np.empty(shape, dtype=np.uint8)
    rows = max(1, max_voxels // (shape[1] * shape[2]))
    for a in range(0, shape[0], rows):
        b = min(shape[0], a + rows)
        slab = np.repeat(np.repeat(block[x0[a:b]], ny, axis=1), nz, axis=2)  # == block[ix_(x0, y0, z0)]
        out = table[slab]
        where = np.nonzero(slab == OPEN)
        if where[0].size:
            out[where] = decider(interpolate_points(probs, (where[0] + a, where[1], where[2]), shape))
        labels[a:b] = out
    return labels
