"""Probabilities → label map: threshold/argmax, 5→3 merge (torch), small-component removal and lung restriction
(one cc3d pass).

Hand-written here: the rule "a voxel takes the most probable class among those above the threshold" for
sigmoid (multi-label) models, and the lung-region rule (keep a class component only if it touches the lung
mask dilated by a margin, so mediastinal trunks attached to intrapulmonary vessels survive). cc3d does the
connected components; scipy's Euclidean distance transform does the mm-accurate dilation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import cc3d
import numpy as np
import torch

from medvlseg.data.morphology import dilate_ball

log = logging.getLogger(__name__)


def threshold_labels(probs: torch.Tensor, activation: str, threshold: float = 0.5, dim: int = 0) -> torch.Tensor:
    """Probabilities (K' channels along `dim`) → uint8 labels: 0 background, k+1 for model class k.

    softmax: argmax with channel 0 = background; sigmoid: the most probable class if it reaches `threshold`.
    """
    if activation == "softmax":
        return probs.argmax(dim).to(torch.uint8)
    peak, best = probs.max(dim)  # most probable foreground class (first one on ties, like numpy's argmax)
    return torch.where(peak >= threshold, best + 1, 0).to(torch.uint8)


def merge_probabilities(probs: torch.Tensor, groups: Sequence[Sequence[int]], dim: int = 0,
                        reduce: str = "max") -> torch.Tensor:
    """K foreground probabilities along `dim` → G, one per group of channels (max for sigmoid, sum for softmax)."""
    parts = [probs.index_select(dim, torch.tensor(list(g))) for g in groups]
    merged = [p.amax(dim) if reduce == "max" else p.sum(dim) for p in parts]
    return torch.stack(merged, dim)


def dilate_mm(mask: np.ndarray, margin_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Binary mask grown by `margin_mm` (Euclidean, anisotropic spacing in mm)."""
    if margin_mm <= 0:
        return mask.astype(bool)
    return dilate_ball(mask.astype(bool, copy=False), margin_mm, tuple(float(s) for s in spacing))


def lung_region(lung: np.ndarray | None, spacing: Sequence[float], margin_mm: float = 10.0) -> np.ndarray | None:
    """Lung map dilated by `margin_mm` (bool, mm), or None: restriction off (no map, margin < 0) or map empty (warned)."""
    if lung is None or margin_mm < 0:
        return None
    if not lung.any():
        log.warning("lung map is empty: predictions are not restricted to the lung region")
        return None
    return dilate_mm(lung > 0, margin_mm, spacing)


def foreground_box(labels: np.ndarray) -> tuple[slice, ...] | None:
    """Bounding box (slices) of the non-zero voxels, or None when there are none."""
    box = []
    for axis in range(labels.ndim):
        hit = np.flatnonzero(labels.any(axis=tuple(a for a in range(labels.ndim) if a != axis)))
        if hit.size == 0:
            return None
        box.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(box)


RegionAt = Callable[[tuple[np.ndarray, ...]], np.ndarray]  # voxel indices → bool per voxel (inside the region)


def postprocess_labels(labels: np.ndarray, spacing: Sequence[float], min_mm3: float = 0.0,
                       region: np.ndarray | RegionAt | None = None, connectivity: int = 26,
                       inplace: bool = False) -> np.ndarray:
    """Drop per-class components (cc3d) under `min_mm3` mm³ (on `spacing`, mm) and, given a `region` (bool array
    on the same grid, or a function answering for voxel indices), those not touching it; one labelling pass
    inside the foreground's bounding box, then work on the foreground voxels only. Returns a new array, or
    `labels` itself changed when `inplace` (no input-sized copy: large CTs)."""
    out = labels if inplace else labels.copy()
    box = foreground_box(out)
    if box is None or (min_mm3 <= 0 and region is None):
        return out
    sub = out[box]  # a view: dropped voxels are zeroed through it
    comps, n = cc3d.connected_components(sub, connectivity=connectivity, return_N=True)  # per class
    where = np.nonzero(comps)  # foreground voxels in the box: a few % of it
    ids = comps[where]
    del comps
    keep = np.ones(n + 1, dtype=bool)
    keep[0] = False
    if min_mm3 > 0:
        min_voxels = int(np.ceil(min_mm3 / float(np.prod(spacing))))
        keep &= np.bincount(ids, minlength=n + 1) >= min_voxels
    if region is not None:
        if callable(region):
            inside = region(tuple(w + s.start for w, s in zip(where, box)))
        else:
            inside = region[box][where]
        touching = np.zeros(n + 1, dtype=bool)
        touching[ids[inside]] = True
        keep &= touching
    drop = ~keep[ids]
    sub[tuple(w[drop] for w in where)] = 0
    return out
