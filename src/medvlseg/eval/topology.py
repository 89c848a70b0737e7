"""Topology metrics of artery/vein label maps: A/V agreement, β0 (connected components), skeleton recall.

- `av_accuracy` of class c: among voxels the truth calls c and the prediction calls any vessel class, the
  fraction the prediction calls c (so it measures artery/vein separation, not detection). Undefined (NaN, left
  out of means) when no such voxel exists.
- `components`: β0 of the predicted class mask (26-connected components, cc3d); `betti0_error`: |β0(pred) −
  β0(gt)|.
- `skeleton_recall` (Kirchhoff et al., ECCV 2024): |S(gt) ∩ pred| / |S(gt)|, clDice's Tsens (medvlseg.eval.cldice);
  both masks empty → 1, exactly one empty → 0 (the medvlseg.eval.metrics convention).
"""

from __future__ import annotations

import cc3d
import numpy as np

TOPOLOGY_METRICS = ("av_accuracy", "components", "betti0_error", "skeleton_recall")


def betti0(mask: np.ndarray) -> int:
    """Number of 26-connected components (β0) of a boolean 3-D mask."""
    mask = np.ascontiguousarray(np.asarray(mask, dtype=np.uint8))
    if not mask.any():
        return 0
    return int(cc3d.connected_components(mask, connectivity=26, return_N=True)[1])


def av_accuracy(pred: np.ndarray, gt: np.ndarray, label: int) -> float:
    """Among voxels with gt == label and pred > 0 (any vessel), the fraction with pred == label; NaN if none."""
    both = (gt == label) & (pred > 0)
    n = int(np.count_nonzero(both))
    if n == 0:
        return float("nan")
    return float(np.count_nonzero(both & (pred == label))) / n


def topology_scores(pred: np.ndarray, gt: np.ndarray, label: int, skeleton_recall: float) -> dict[str, float]:
    """TOPOLOGY_METRICS of one class of two integer label maps; `skeleton_recall` comes from clDice's Tsens."""
    b_pred, b_gt = betti0(pred == label), betti0(gt == label)
    return {"av_accuracy": av_accuracy(pred, gt, label), "components": float(b_pred),
            "betti0_error": float(abs(b_pred - b_gt)), "skeleton_recall": float(skeleton_recall)}
