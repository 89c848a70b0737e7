"""Anatomy rules an engine case must obey (tests and benchmarks/bench_engine.py): the artery label starts at
the right ventricle (pulmonary valve), every vein component drains into the left atrium, arteries run nearer to
the bronchi than veins, and labels follow the TotalSegmentator-style definition (tissues.py).

Components are 26-connected (cc3d); "touches" means within one voxel (a 3x3x3 dilation of the chamber).
"""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.generator import PhantomCase


def _touching(mask: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(component sizes (voxels), touches-target flags, component map) of a mask's 26-components."""
    cc, n = cc3d.connected_components(mask.astype(np.uint8), connectivity=26, return_N=True)
    sizes = np.bincount(cc.ravel(), minlength=n + 1)[1:]
    near = ndimage.binary_dilation(target, structure=np.ones((3, 3, 3), bool))
    touches = np.zeros(n + 1, dtype=bool)
    touches[np.unique(cc[near & (cc > 0)])] = True
    return sizes, touches[1:], cc


def artery_rule(case: PhantomCase) -> dict:
    """Artery components: count, share of artery voxels in the component that touches the right ventricle."""
    sizes, touches, _ = _touching(case.label == 1, case.tissue == T.RV)
    total = max(int(sizes.sum()), 1)
    return {"components": int(len(sizes)), "rv_connected_fraction": float(sizes[touches].sum() / total),
            "rv_touching_components": int(touches.sum())}


def vein_rule(case: PhantomCase, min_voxels: int = 1) -> dict:
    """Vein components of ≥ min_voxels: how many reach the left atrium, and the share of vein voxels they hold."""
    sizes, touches, _ = _touching(case.label == 2, case.tissue == T.LA)
    big = sizes >= min_voxels
    total = max(int(sizes.sum()), 1)
    return {"components": int(big.sum()), "components_reaching_la": int((touches & big).sum()),
            "la_connected_fraction": float(sizes[touches].sum() / total), "ostia_components": int(touches.sum())}


def definition_rule(case: PhantomCase) -> dict:
    """Labels vs tissues: artery ⊂ pulmonary artery, vein ⊂ pulmonary vein; chambers and aorta never labelled;
    share of pulmonary-artery/vein tissue voxels labelled (the rest are sub-half-voxel partial volumes)."""
    tissue, label = case.tissue, case.label
    return {"artery_in_pa_tissue": bool(np.all(tissue[label == 1] == T.PULM_ARTERY)),
            "vein_in_pv_tissue": bool(np.all(tissue[label == 2] == T.PULM_VEIN)),
            "chambers_or_aorta_labelled": int(np.isin(tissue, (*T.CHAMBERS, T.AORTA))[label > 0].sum()),
            "pa_tissue_labelled": float((label[tissue == T.PULM_ARTERY] == 1).mean()),
            "pv_tissue_labelled": float((label[tissue == T.PULM_VEIN] == 2).mean())}


def label_at(case: PhantomCase, world_mm: list[float]) -> int:
    """The 3-class label of the voxel nearest to a world point (mm); -1 outside the grid."""
    vox = np.rint(np.linalg.solve(case.affine, np.r_[world_mm, 1.0])[:3]).astype(int)
    if np.any(vox < 0) or np.any(vox >= case.label.shape):
        return -1
    return int(case.label[tuple(vox)])
