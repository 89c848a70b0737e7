"""Per-mask segmentation metrics (pure functions on boolean arrays; distances in mm).

Empty-mask conventions (used everywhere in medvlseg.eval):
- both pred and gt empty → Dice 1, Jaccard 1, NSD 1, clDice 1, HD95 0 mm, ASD 0 mm;
- exactly one empty → Dice 0, Jaccard 0, NSD 0, clDice 0, HD95 = ASD = inf (written as "inf" in CSV/JSON and
  left out of means; summaries count the excluded cases).
Surfaces are 6-connected (see medvlseg.eval.surface), matching MONAI's default so values agree with
DiceMetric, HausdorffDistanceMetric(percentile=95), SurfaceDiceMetric and SurfaceDistanceMetric(symmetric=True).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medvlseg.eval.cldice import cldice
from medvlseg.eval.surface import asd, hd95, nsd, surface_distances

METRICS = ("dice", "jaccard", "nsd", "hd95", "asd", "cldice")


def dice(pred: np.ndarray, gt: np.ndarray) -> float:
    """Dice similarity coefficient of two boolean masks (fraction); 1 when both are empty."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    total = int(pred.sum()) + int(gt.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.count_nonzero(pred & gt)) / total


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """Jaccard index (intersection over union) of two boolean masks (fraction); 1 when both are empty."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    union = int(np.count_nonzero(pred | gt))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(pred & gt)) / union


def score_masks(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float], tolerance_mm: float = 1.0,
                with_cldice: bool = True) -> dict[str, float]:
    """All metrics (METRICS order) of one boolean pred/gt pair; spacing and tolerance in mm, HD95/ASD in mm."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"pred shape {pred.shape} != gt shape {gt.shape}")
    dist = surface_distances(pred, gt, spacing)
    out = {"dice": dice(pred, gt), "jaccard": jaccard(pred, gt), "nsd": nsd(dist, tolerance_mm),
           "hd95": hd95(dist), "asd": asd(dist)}
    out["cldice"] = cldice(pred, gt) if with_cldice else float("nan")
    return out
