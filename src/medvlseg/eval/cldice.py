"""Centerline Dice (clDice, Shit et al. 2021) of 3-D binary vessel masks via skimage's 3-D skeletonize.

clDice = 2·Tprec·Tsens / (Tprec + Tsens), Tprec = |S(pred) ∩ gt| / |S(pred)|, Tsens = |S(gt) ∩ pred| / |S(gt)|,
with S the skeleton (`skimage.morphology.skeletonize`, Lee's 3-D thinning). Tsens is also the skeleton recall
of Kirchhoff et al. (ECCV 2024). Conventions: both masks empty → 1; exactly one empty → 0. Skeletons are
computed inside the union bounding box (+1 voxel) for speed; a non-empty mask whose skeleton vanishes (cannot
happen with Lee's thinning, guarded anyway) uses the mask itself.
"""

from __future__ import annotations

import numpy as np
from skimage.morphology import skeletonize

from medvlseg.eval.surface import union_bbox


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Boolean 3-D skeleton (voxels) of a boolean mask; the mask itself if thinning leaves nothing."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return mask.copy()
    skel = skeletonize(mask).astype(bool)
    return skel if skel.any() else mask.copy()


def topology_fractions(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(Tprec, Tsens) of two same-shape boolean masks (fractions; both empty → (1, 1), one empty → (0, 0))."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"pred shape {pred.shape} != gt shape {gt.shape}")
    box = union_bbox(pred, gt, margin=1)
    if box is None:
        return 1.0, 1.0
    pred, gt = pred[box], gt[box]
    if not pred.any() or not gt.any():
        return 0.0, 0.0
    sp, sg = skeleton(pred), skeleton(gt)
    return float((sp & gt).sum()) / float(sp.sum()), float((sg & pred).sum()) / float(sg.sum())


def cldice_from(tprec: float, tsens: float) -> float:
    """clDice from topology precision and sensitivity (harmonic mean; 0 when both are 0)."""
    return 0.0 if tprec + tsens == 0.0 else 2.0 * tprec * tsens / (tprec + tsens)


def cldice(pred: np.ndarray, gt: np.ndarray) -> float:
    """clDice of two same-shape boolean masks (fraction in [0, 1]; spacing-free, topology-oriented)."""
    return cldice_from(*topology_fractions(pred, gt))
