"""Vessel graph of a binary mask: skeleton (scikit-image) → segments and junctions (cc3d) → junction geometry.

The skeleton is `skimage.morphology.skeletonize` (Lee's 3-D thinning); skeleton voxels with ≥ 3 skeleton
neighbours (26-connectivity) are junction voxels, connected junction voxels form one junction, and the connected
components (cc3d) of the remaining skeleton voxels are the segments — the decomposition `skan` makes, done here
with the libraries already pinned (skan would add numba and pandas). Hand-written: the per-junction geometry
(branch directions from the junction centre, straightness of each pair of branches, calibre per segment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations, product

import cc3d
import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

OFFSETS = np.array([o for o in product((-1, 0, 1), repeat=3) if o != (0, 0, 0)], dtype=np.int64)  # (26, 3)


@dataclass
class VesselGraph:
    """Segments (nodes) of a skeleton and the pairs of segments that meet at a junction (edges)."""

    segments: np.ndarray  # (X, Y, Z) int32: segment id 1..n on skeleton voxels outside junctions, else 0
    n: int  # number of segments
    radius_mm: np.ndarray  # (n,) mean mask radius along each segment, mm
    length: np.ndarray  # (n,) skeleton voxels per segment
    pairs: np.ndarray  # (P, 2) int64 0-based segment indices meeting at one junction
    straight: np.ndarray  # (P,) −cos of the angle between the two branch directions (1: one straight line)
    degree: np.ndarray  # (P,) number of segments at the pair's junction
    junction: np.ndarray  # (P,) id of the junction where the pair meets
    junctions: np.ndarray  # (X, Y, Z) int32: junction id 1..m on junction voxels, else 0
    incidence: np.ndarray  # (I, 2) int64 (junction id, segment id) of every segment end at a junction


def _neighbour_count(skel: np.ndarray) -> np.ndarray:
    """Skeleton neighbours (26-connectivity) of every voxel, uint8."""
    kernel = np.ones((3, 3, 3), dtype=np.uint8)
    kernel[1, 1, 1] = 0
    return ndimage.convolve(skel.astype(np.uint8), kernel, mode="constant", cval=0)


def _incidences(junctions: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(junction id, segment id) pairs, unique, of junctions and the segments touching them (26-connectivity)."""
    coords = np.argwhere(junctions > 0)  # (J, 3)
    if coords.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    shape = np.array(segments.shape)
    nb = coords[:, None, :] + OFFSETS[None]  # (J, 26, 3)
    inside = np.all((nb >= 0) & (nb < shape), axis=-1)
    nb = np.clip(nb, 0, shape - 1)
    seg = np.where(inside, segments[nb[..., 0], nb[..., 1], nb[..., 2]], 0)  # (J, 26)
    jid = np.broadcast_to(junctions[tuple(coords.T)][:, None], seg.shape)
    keep = seg > 0
    pairs = np.unique(np.stack([jid[keep], seg[keep]], axis=1).astype(np.int64), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _direction(points: np.ndarray, centre: np.ndarray, reach_mm: float) -> np.ndarray:
    """Unit direction (mm) of a branch leaving a junction at `centre`: from the branch point nearest the centre
    to the mean of the branch points within `reach_mm` of it (a zero vector for a one-voxel branch)."""
    start = points[np.argmin(np.linalg.norm(points - centre, axis=1))]
    near = points[np.linalg.norm(points - start, axis=1) <= reach_mm]
    v = near.mean(axis=0) - start
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def build_graph(mask: np.ndarray, spacing: Sequence[float], reach_voxels: float = 5.0) -> VesselGraph:
    """Vessel graph of a boolean mask (voxel spacing in mm); branch directions use `reach_voxels` of skeleton."""
    mask = np.asarray(mask, dtype=bool)
    sp = np.asarray(spacing, dtype=np.float64)
    skel = skeletonize(mask).astype(bool) if mask.any() else mask.copy()
    junction_mask = skel & (_neighbour_count(skel) >= 3)
    segments, n = cc3d.connected_components((skel & ~junction_mask).astype(np.uint8), connectivity=26,
                                            return_N=True)
    segments = segments.astype(np.int32)
    junctions = cc3d.connected_components(junction_mask.astype(np.uint8), connectivity=26).astype(np.int32)
    radius_map = ndimage.distance_transform_edt(mask, sampling=sp) if n else np.zeros(mask.shape)
    index = np.arange(1, n + 1)
    length = ndimage.sum_labels(np.ones_like(segments), segments, index).astype(np.int64)
    radius = ndimage.mean(radius_map, segments, index) if n else np.zeros(0)
    jid, sid = _incidences(junctions, segments)
    pairs, straight, degree, where = _junction_pairs(junctions, segments, jid, sid, sp,
                                                     reach_voxels * float(sp.mean()))
    return VesselGraph(segments, int(n), np.asarray(radius, dtype=np.float64), length, pairs, straight, degree,
                       where, junctions, np.stack([jid, sid], axis=1).reshape(-1, 2))


def _junction_pairs(junctions: np.ndarray, segments: np.ndarray, jid: np.ndarray, sid: np.ndarray, sp: np.ndarray,
                    reach_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of segments at each junction: indices, straightness (−cos of the branch angle), degree, junction."""
    if jid.size == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    centres = np.asarray(ndimage.center_of_mass(np.ones_like(junctions), junctions, np.unique(jid)))
    centre_of = dict(zip(np.unique(jid).tolist(), centres * sp))
    seg_coords = ndimage.find_objects(segments)
    pairs, straight, degree, where = [], [], [], []
    for j in np.unique(jid):
        members = sid[jid == j]
        dirs = {}
        for s in members.tolist():
            box = seg_coords[s - 1]
            local = np.argwhere(segments[box] == s) + np.array([b.start for b in box])
            dirs[s] = _direction(local * sp, centre_of[int(j)], reach_mm)
        for a, b in combinations(members.tolist(), 2):
            pairs.append((a - 1, b - 1))
            straight.append(-float(np.dot(dirs[a], dirs[b])))
            degree.append(len(members))
            where.append(int(j))
    return (np.asarray(pairs, np.int64).reshape(-1, 2), np.asarray(straight), np.asarray(degree, np.int64),
            np.asarray(where, np.int64))
