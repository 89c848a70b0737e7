"""Fairness checks of a phantom (used by tests and benchmarks/bench_phantom.py): can intensity and size tell
artery from vein (they should not), do arteries hug the airways, is every tree connected.

The AUC and the 2-feature logistic regression are hand-written in numpy (scikit-learn is not a dependency).
"""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage, stats


def rank_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of `score` for boolean `positive` (Mann–Whitney U with tie ranks)."""
    ranks = stats.rankdata(score)
    n_pos = int(positive.sum())
    n_neg = len(score) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def local_radius(label: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Approximate vessel radius (mm) at every vessel voxel: the largest inscribed-sphere radius nearby."""
    edt = ndimage.distance_transform_edt(label > 0, sampling=spacing).astype(np.float32)
    return ndimage.maximum_filter(edt, size=3) * (label > 0)


def logistic_scores(features: np.ndarray, target: np.ndarray, iters: int = 50) -> np.ndarray:
    """Fit a logistic regression (Newton-Raphson, tiny ridge) on standardised features (N, F); return logits."""
    x = (features - features.mean(axis=0)) / np.maximum(features.std(axis=0), 1e-9)
    x = np.concatenate([x, np.ones((len(x), 1))], axis=1)  # (N, F + 1) with bias
    w = np.zeros(x.shape[1])
    y = target.astype(np.float64)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + 1e-6 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return x @ w


def intensity_radius_auc(image: np.ndarray, label: np.ndarray, spacing: tuple[float, float, float],
                         region: np.ndarray | None = None) -> dict:
    """Best artery-vs-vein AUC of intensity (HU), local radius (mm), and a logistic fit of both (≥ 0.5),
    over vessel voxels inside `region` (e.g. the lungs; default everywhere)."""
    vessel = (label > 0) if region is None else (label > 0) & (region > 0)
    hu = image[vessel].astype(np.float64)
    rad = local_radius(label, spacing)[vessel].astype(np.float64)
    is_artery = label[vessel] == 1
    def sym(a: float) -> float:
        return max(a, 1.0 - a)
    both = logistic_scores(np.stack([hu, rad, hu * rad], axis=1), is_artery)
    return {"auc_intensity": sym(rank_auc(hu, is_artery)), "auc_radius": sym(rank_auc(rad, is_artery)),
            "auc_logistic": sym(rank_auc(both, is_artery))}


def airway_distances(label: np.ndarray, airway: np.ndarray, spacing: tuple[float, float, float],
                     min_radius_mm: float = 0.0, region: np.ndarray | None = None) -> dict:
    """Median distance (mm) from artery and from vein voxels (local radius ≥ min_radius_mm, inside `region`)
    to the nearest airway voxel."""
    dist = ndimage.distance_transform_edt(airway == 0, sampling=spacing)
    big = local_radius(label, spacing) >= min_radius_mm
    if region is not None:
        big &= region > 0
    return {"artery_median_mm": float(np.median(dist[(label == 1) & big])),
            "vein_median_mm": float(np.median(dist[(label == 2) & big]))}


def tree_components(label: np.ndarray, side: np.ndarray) -> dict:
    """Per label and lung side: number of 26-connected components and the voxel fraction in the largest."""
    out = {}
    for value, name in ((1, "artery"), (2, "vein")):
        for s, side_name in ((1, "left"), (2, "right")):
            mask = (label == value) & (side == s)
            cc, n = cc3d.connected_components(mask.astype(np.uint8), connectivity=26, return_N=True)
            sizes = np.bincount(cc.ravel())[1:]
            out[f"{name}_{side_name}"] = {"components": int(n),
                                          "largest_fraction": float(sizes.max() / sizes.sum()) if n else 0.0}
    return out


def hu_medians(image: np.ndarray, label: np.ndarray, lung: np.ndarray, airway: np.ndarray) -> dict:
    """Median HU of lung parenchyma (lung minus vessels/airways), blood (thick vessel cores) and tracheal air."""
    parenchyma = (lung > 0) & (label == 0) & (airway == 0)
    core = ndimage.binary_erosion(label > 0, iterations=1)
    lumen = ndimage.binary_erosion(airway > 0, iterations=2)
    return {"lung": float(np.median(image[parenchyma])),
            "blood": float(np.median(image[core])) if core.any() else float("nan"),
            "air": float(np.median(image[lumen])) if lumen.any() else float("nan")}


def contrast_gap(image: np.ndarray, label: np.ndarray) -> dict:
    """Artery − vein mean HU over all labelled voxels and over their cores (voxels whose 6 neighbours carry the
    same label: the blood value, free of partial volume with the lung), with the core voxel counts."""
    out: dict = {}
    for value, name in ((1, "artery"), (2, "vein")):
        mask = label == value
        core = ndimage.binary_erosion(mask)
        out[f"{name}_mean_hu"] = float(image[mask].mean()) if mask.any() else float("nan")
        out[f"{name}_core_hu"] = float(image[core].mean()) if core.any() else float("nan")
        out[f"{name}_core_voxels"] = int(core.sum())
    out["gap_hu"] = out["artery_mean_hu"] - out["vein_mean_hu"]
    out["core_gap_hu"] = out["artery_core_hu"] - out["vein_core_hu"]
    return out
