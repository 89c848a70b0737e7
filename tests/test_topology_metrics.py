"""Topology metrics on hand-built volumes with known β0, skeleton recall and artery/vein agreement."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np

from medvlseg.eval.evaluate import GtCase, evaluate, score_case
from medvlseg.eval.topology import av_accuracy, betti0


def rods(shape: tuple[int, int, int] = (32, 32, 32)) -> np.ndarray:
    """Label map: artery (1) a rod along x at y=8, vein (2) a rod along x at y=24, both 3x3 voxels thick."""
    gt = np.zeros(shape, np.uint8)
    gt[2:30, 7:10, 15:18] = 1
    gt[2:30, 23:26, 15:18] = 2
    return gt


def test_betti0_counts_26_connected_pieces() -> None:
    mask = np.zeros((16, 16, 16), bool)
    mask[1, 1, 1] = mask[2, 2, 2] = True  # diagonal neighbours: one piece
    mask[10:12, 10:12, 10:12] = True
    mask[5, 12, 3] = True
    assert betti0(mask) == 3 and betti0(np.zeros_like(mask)) == 0


def test_av_accuracy_only_counts_voxels_both_call_vessel() -> None:
    gt = rods()
    pred = gt.copy()
    pred[2:16][gt[2:16] == 1] = 2  # first half of the artery called vein (x 2..15 of 2..29: 14 of 28 slices)
    pred[gt == 2] = 0  # the vein missed entirely: no voxel both call vessel
    assert av_accuracy(pred, gt, 1) == 0.5
    assert math.isnan(av_accuracy(pred, gt, 2))


def test_score_case_topology_columns() -> None:
    gt = rods()
    pred = gt.copy()
    pred[10:12] = 0  # both rods cut once: 2 pieces each
    pred[20:22][gt[20:22] == 2] = 1  # a vein piece called artery (3 artery pieces: rod halves + the stolen bit)
    rows = {r["class"]: r for r in score_case(pred, gt, GtCase("c", Path("c.nii.gz")), (1.0, 1.0, 1.0))}
    assert rows["artery"]["components"] == 3 and rows["artery"]["betti0_error"] == 2
    assert rows["vein"]["components"] == 3 and rows["vein"]["betti0_error"] == 2
    # gt skeletons are the rods' centre lines; the cut removes 2 of them, the relabelled bit 2 more from the vein
    sk = {"artery": 1 - 2 / 26, "vein": 1 - 4 / 26}
    for name, rec in sk.items():
        assert abs(rows[name]["skeleton_recall"] - rec) < 0.04, (name, rows[name]["skeleton_recall"])
    assert rows["artery"]["av_accuracy"] == 1.0
    vein_both = np.count_nonzero((gt == 2) & (pred > 0))
    assert rows["vein"]["av_accuracy"] == (vein_both - 2 * 9) / vein_both


def test_evaluate_writes_topology_summary(tmp_path: Path) -> None:
    gt, affine = rods(), np.diag([0.8, 0.8, 1.2, 1.0])
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    nib.save(nib.Nifti1Image(gt, affine), str(tmp_path / "gt" / "a.nii.gz"))
    nib.save(nib.Nifti1Image(gt, affine), str(tmp_path / "pred" / "a.nii.gz"))
    result = evaluate(tmp_path / "pred", tmp_path / "gt")
    art = result.summary["artery"]
    assert art["av_accuracy"]["mean"] == 1.0 and art["components"]["mean"] == 1.0
    assert art["betti0_error"]["mean"] == 0.0 and art["skeleton_recall"]["mean"] == 1.0
