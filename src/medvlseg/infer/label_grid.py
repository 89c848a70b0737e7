"""Labels decided on the input grid from working-grid probabilities, interpolating only where the label is open.

Trilinear interpolation is a convex combination of a voxel's 8 working-grid neighbours (its stencil), and the
float32 lerps of `medvlseg.data.resample.interpolate_points` keep every value within its neighbours' range. So
for sigmoid outputs: if no neighbour has a class at or above the threshold, the input voxel is background; if
every neighbour has the same single class above it (all others below), the voxel takes that class; if the
neighbours are only of those two kinds, channel c alone decides (interpolate one channel). For softmax
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

from medvlseg.data.resample import linear_stencil

MIXED = 254  # working voxel: more than one outcome possible
OPEN = 255  # stencil block whose corners leave several classes open: interpolate every channel
SHELL = 128  # stencil block SHELL + c + 1: corners only "nothing above" or "channel c alone" (sigmoid): c decides
SOFTMAX_MARGIN = 1e-5  # probability margin a softmax class needs over every other to be "pure"
Decider = Callable[[np.ndarray], np.ndarray]  # probabilities (K', n) → labels (n,) uint8


def coarse_codes(probs: np.ndarray, activation: str, threshold: float = 0.5) -> np.ndarray:
    """Working-grid (K', X, Y, Z) probabilities → uint8 codes: 0 nothing above `threshold` (sigmoid), c+1 channel c
    alone decides (sigmoid: only c at/above threshold; softmax: c beats all others by SOFTMAX_MARGIN), else MIXED."""
    if probs.shape[0] >= SHELL - 1:
        raise ValueError(f"at most {SHELL - 2} channels, got {probs.shape[0]}")
    codes = np.full(probs.shape[1:], MIXED, dtype=np.uint8)
    if activation == "sigmoid":
        above = probs >= threshold
        count = above.sum(0, dtype=np.uint8)
        codes[count == 0] = 0
        single = count == 1
        which = np.zeros(codes.shape, dtype=np.uint8)  # c + 1 of an above-threshold channel (the only one if single)
        for c in range(probs.shape[0]):
            which[above[c]] = c + 1
        codes[single] = which[single]
        return codes
    order = np.sort(probs, axis=0)
    pure = order[-1] - order[-2] >= SOFTMAX_MARGIN if probs.shape[0] > 1 else np.ones(probs.shape[1:], bool)
    codes[pure] = (probs.argmax(0)[pure] + 1).astype(np.uint8)
    return codes


def stencil_codes(codes: np.ndarray) -> np.ndarray:
    """Per working voxel, what the 2x2x2 stencil starting there (edge-replicated) leaves to decide: its shared
    code; SHELL + code when the corners are only 0 and that one code; else OPEN."""
    pad = np.pad(codes, 1, mode="edge")[1:, 1:, 1:]  # one extra voxel at the far end of each axis
    n = codes.shape
    views = [pad[dx:dx + n[0], dy:dy + n[1], dz:dz + n[2]] for dx, dy, dz in product((0, 1), repeat=3)]
    lo, hi = codes.copy(), codes.copy()
    for view in views[1:]:
        np.minimum(lo, view, out=lo)
        np.maximum(hi, view, out=hi)
    two = (lo == 0) & (hi != MIXED)  # candidates for a 0 / c shell: every corner 0 or hi
    for view in views:
        two &= (view == 0) | (view == hi)
    out = np.where(two, SHELL + hi, OPEN).astype(np.uint8)
    same = (lo == hi) & (hi != MIXED)
    out[same] = hi[same]
    return out


def code_labels(decider: Decider, channels: int) -> np.ndarray:
    """Lookup table code → label (uint8, 256 entries): code 0 = all channels 0, code c+1 = channel c alone at 1."""
    table = np.zeros(256, dtype=np.uint8)  # SHELL and OPEN codes map to 0: decided by interpolation
    probes = np.zeros((channels, channels + 1), dtype=np.float32)
    probes[np.arange(channels), np.arange(1, channels + 1)] = 1.0
    table[: channels + 1] = decider(probes)
    return table


def block_voxels(blocks: Sequence[np.ndarray], starts: Sequence[np.ndarray], counts: Sequence[np.ndarray]
                 ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Input voxels of working-grid stencil blocks: (block number per voxel, (x, y, z) voxel indices).

    Block (a, b, c) owns the input voxels whose stencil starts there: `counts[axis][i]` of them from
    `starts[axis][i]` along each axis (the stencil starts are sorted).
    """
    cx, cy, cz = (cnt[i] for cnt, i in zip(counts, blocks))
    sizes = cx * cy * cz
    owner = np.repeat(np.arange(sizes.size), sizes)
    local = np.arange(owner.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    cz_o, cyz_o = cz[owner], (cy * cz)[owner]
    x = starts[0][blocks[0]][owner] + local // cyz_o
    y = starts[1][blocks[1]][owner] + (local % cyz_o) // cz_o
    return owner, (x, y, starts[2][blocks[2]][owner] + local % cz_o)


def decide_on_grid(probs: np.ndarray, shape: Sequence[int], decider: Decider, activation: str,
                   threshold: float = 0.5, max_voxels: int = 1 << 22, exhaustive: bool = False) -> np.ndarray:
    """Working-grid probabilities (K', X, Y, Z) → labels (uint8) on the input grid `shape` (voxels) as if every
    voxel were trilinearly interpolated and decided by `decider`.

    Work and memory scale with the voxels of non-background stencil blocks (about `max_voxels` input voxels at a
    time), not with the input grid; `exhaustive` interpolates every voxel (the reference the sparse path is
    tested against).
    """
    shape = tuple(int(n) for n in shape)
    block = np.full(probs.shape[1:], OPEN, np.uint8) if exhaustive else \
        stencil_codes(coarse_codes(probs, activation, threshold))
    table = code_labels(decider, probs.shape[0])
    firsts = [linear_stencil(n, m)[0] for n, m in zip(probs.shape[1:], shape)]
    counts = [np.bincount(f, minlength=n) for f, n in zip(firsts, probs.shape[1:])]
    starts = [np.cumsum(c) - c for c in counts]
    labels = np.empty(shape, dtype=np.uint8)
    pure = table[block]  # label of each block whose corners agree (0 for SHELL/OPEN blocks, decided below)
    step = max(1, int(max_voxels // max(1, shape[1] * shape[2])))
    for a0 in range(0, block.shape[0], step):  # blocks → their input voxels by repetition, a slab at a time
        a1 = min(block.shape[0], a0 + step)
        rows = slice(int(starts[0][a0]), int(starts[0][a1 - 1] + counts[0][a1 - 1]))
        slab = np.repeat(np.repeat(pure[a0:a1], counts[1], axis=1), counts[2], axis=2)
        labels[rows] = np.repeat(slab, counts[0][a0:a1], axis=0)
    busy = np.flatnonzero(block > SHELL)  # SHELL/OPEN stencil blocks: interpolate their voxels
    per_block = (counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]).ravel()[busy]
    ends = np.cumsum(per_block)
    weights = [linear_stencil(n, m)[2] for n, m in zip(probs.shape[1:], shape)]
    a = 0
    while a < busy.size:  # chunks of about max_voxels input voxels
        b = max(a + 1, int(np.searchsorted(ends, ends[a] - per_block[a] + max_voxels, side="right")))
        ids = busy[a:b]
        corner = np.unravel_index(ids, block.shape)  # stencil start (= first corner) of each block
        owner, voxels = block_voxels(corner, starts, counts)
        codes = block.ravel()[ids]
        for opened in (False, True):
            chosen = (codes == OPEN) == opened
            at_voxel = np.flatnonzero(chosen[owner])
            if not at_voxel.size:
                continue
            pick = np.flatnonzero(chosen)
            local = (np.cumsum(chosen) - 1)[owner[at_voxel]]  # voxel → its block among the picked ones
            channel = None if opened else (codes[pick] - (SHELL + 1)).astype(np.intp)  # shell: c decides
            values = interpolate_blocks(probs, tuple(c[pick] for c in corner), local,
                                        tuple(w[v[at_voxel]] for w, v in zip(weights, voxels)), channel)
            at = tuple(v[at_voxel] for v in voxels)
            if channel is None:
                labels[at] = decider(values)
            else:  # above threshold → the channel's class, else background
                labels[at] = np.where(values >= threshold, table[channel[local] + 1], 0)
        a = b
    return labels


def interpolate_blocks(probs: np.ndarray, corner: tuple[np.ndarray, ...], owner: np.ndarray,
                       weight: tuple[np.ndarray, ...], channel: np.ndarray | None = None) -> np.ndarray:
    """Trilinear values of voxels in stencil blocks: blocks start at working voxels `corner` (3 index arrays, nb),
    voxel i lies in block `owner[i]` with per-axis weights `weight` (3 arrays, n); all K' channels (K', n), or
    channel `channel[block]` only (n,).

    The 8 corner values are gathered once per block (not per voxel) and spread to the block's voxels; the float32
    lerps are those of `medvlseg.data.resample.interpolate_points` in the same order, so values are bit for bit
    equal (tests/test_label_grid.py).
    """
    n = probs.shape[1:]
    ends = [(c, np.minimum(c + 1, m - 1)) for c, m in zip(corner, n)]

    def at(dx: int, dy: int, dz: int) -> np.ndarray:
        if channel is None:
            return probs[:, ends[0][dx], ends[1][dy], ends[2][dz]][:, owner]
        return probs[channel, ends[0][dx], ends[1][dy], ends[2][dz]][owner]

    def lerp(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
        b -= a  # in place, same rounding as a + w * (b - a)
        b *= w
        b += a
        return b

    wx, wy, wz = weight
    return lerp(lerp(lerp(at(0, 0, 0), at(1, 0, 0), wx), lerp(at(0, 1, 0), at(1, 1, 0), wx), wy),
                lerp(lerp(at(0, 0, 1), at(1, 0, 1), wx), lerp(at(0, 1, 1), at(1, 1, 1), wx), wy), wz)
