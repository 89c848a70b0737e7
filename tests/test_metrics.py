"""Metrics: conventions, hand-checked values and a cross-check against MONAI on seeded anisotropic blobs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import ndimage

from medvlseg.eval.cldice import cldice
from medvlseg.eval.metrics import dice, jaccard, score_masks
from medvlseg.eval.surface import ball_offsets, hd95, nsd, surface, surface_distances, union_bbox

SPACING = (0.7, 1.1, 2.5)


def _blobs(seed: int, shape: tuple[int, int, int] = (40, 36, 32), level: float = 0.6) -> np.ndarray:
    """Seeded smooth random blobs (boolean) from thresholded Gaussian-filtered noise."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=3.0)
    return field > level * field.std()


@pytest.fixture(scope="module")
def pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Five pred/gt pairs: overlapping blobs, one touching the array border, one far-apart pair."""
    out = []
    for seed in range(3):
        gt = _blobs(seed)
        pred = ndimage.binary_dilation(gt, iterations=1) ^ (_blobs(seed + 100, level=1.8))
        out.append((pred, gt))
    full = np.zeros((40, 36, 32), bool)
    full[:, 5:20, 0:10] = True
    out.append((_blobs(7), full))
    a, b = np.zeros((40, 36, 32), bool), np.zeros((40, 36, 32), bool)
    a[2:6, 2:6, 2:6], b[30:38, 25:33, 20:30] = True, True
    out.append((a, b))
    return out


def _monai(pred: np.ndarray, gt: np.ndarray, tol: float) -> dict[str, float]:
    import torch
    from monai.metrics import (DiceMetric, HausdorffDistanceMetric, SurfaceDiceMetric,
                               SurfaceDistanceMetric)

    p = torch.from_numpy(pred.astype(np.float32))[None, None]  # (1, 1, X, Y, Z)
    g = torch.from_numpy(gt.astype(np.float32))[None, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vals = {
            "dice": DiceMetric(include_background=True)(p, g),
            "hd95": HausdorffDistanceMetric(include_background=True, percentile=95)(p, g, spacing=SPACING),
            "nsd": SurfaceDiceMetric([tol], include_background=True)(p, g, spacing=SPACING),
            "asd": SurfaceDistanceMetric(include_background=True, symmetric=True)(p, g, spacing=SPACING),
        }
    return {k: float(v.reshape(-1)[0]) for k, v in vals.items()}


@pytest.mark.parametrize("tol", [1.0, 2.5])
def test_matches_monai(pairs: list[tuple[np.ndarray, np.ndarray]], tol: float) -> None:
    for pred, gt in pairs:
        ours = score_masks(pred, gt, SPACING, tolerance_mm=tol, with_cldice=False)
        ref = _monai(pred, gt, tol)
        dist = surface_distances(pred, gt, SPACING, method="edt")
        assert hd95(dist) == pytest.approx(ours["hd95"], abs=1e-9) and nsd(dist, tol) == pytest.approx(ours["nsd"])
        assert 0.0 < ref["nsd"] < 1.0 or ref["hd95"] > 10
        for key, value in ref.items():
            assert ours[key] == pytest.approx(value, abs=1e-3, rel=1e-5), key


def test_hand_values_two_cubes() -> None:
    a = np.zeros((12, 12, 12), bool)
    b = np.zeros_like(a)
    a[2:6, 2:6, 2:6] = True
    b[2:6, 2:6, 4:8] = True  # shifted 2 voxels along z
    assert dice(a, b) == pytest.approx(0.5)
    assert jaccard(a, b) == pytest.approx(32 / 96)
    d = surface_distances(a, b, (1.0, 1.0, 3.0))
    assert d.pred_to_gt.max() == pytest.approx(6.0)  # z-shift of 2 voxels x 3 mm
    assert d.pred_to_gt.min() == 0.0


def test_surface_is_six_connected_and_border_counts() -> None:
    m = np.ones((5, 5, 5), bool)
    s = surface(m)
    assert s.sum() == 125 - 27  # array border is background
    m = np.zeros((7, 7, 7), bool)
    m[1:6, 1:6, 1:6] = True
    assert surface(m).sum() == 125 - 27
    assert union_bbox(m, np.zeros_like(m)) == (slice(0, 7), slice(0, 7), slice(0, 7))


def test_empty_conventions() -> None:
    z = np.zeros((10, 10, 10), bool)
    both = score_masks(z, z, (1, 1, 1))
    assert both == {"dice": 1.0, "jaccard": 1.0, "nsd": 1.0, "hd95": 0.0, "asd": 0.0, "cldice": 1.0}
    one = z.copy()
    one[3:6, 3:6, 3:6] = True
    for pred, gt in ((one, z), (z, one)):
        s = score_masks(pred, gt, (1, 1, 1))
        assert s["dice"] == 0.0 and s["jaccard"] == 0.0 and s["nsd"] == 0.0 and s["cldice"] == 0.0
        assert math.isinf(s["hd95"]) and math.isinf(s["asd"])


def test_cldice_tube_vs_broken_tube() -> None:
    gt = np.zeros((40, 17, 17), bool)
    gt[2:38, 6:11, 6:11] = True
    assert cldice(gt, gt) == pytest.approx(1.0)
    broken = gt.copy()
    broken[18:24] = False  # a gap: voxel Dice stays high, the centreline breaks
    fat = ndimage.binary_dilation(gt, structure=np.ones((3, 3, 3), bool))  # thicker, same centreline
    assert cldice(broken, gt) < 0.95
    assert cldice(fat, gt) == pytest.approx(1.0)
    assert dice(broken, gt) > cldice(broken, gt) - 0.1


def test_local_search_equals_edt_with_far_outliers() -> None:
    gt = _blobs(11)
    pred = _blobs(12, level=1.2)
    pred[:3] = True  # a slab far from most of gt: exercises the k-d tree fallback beyond the ball radius
    for spacing in (SPACING, (0.6, 0.6, 2.5), (1.0, 1.0, 1.0)):
        a = surface_distances(pred, gt, spacing, method="local")
        b = surface_distances(pred, gt, spacing, method="edt")
        _, _, radius = ball_offsets(spacing)
        assert a.pred_to_gt.max() > radius  # some distances did need the fallback
        np.testing.assert_allclose(a.pred_to_gt, b.pred_to_gt, atol=1e-9)
        np.testing.assert_allclose(a.gt_to_pred, b.gt_to_pred, atol=1e-9)


def test_ball_offsets_complete() -> None:
    offs, lengths, radius = ball_offsets((0.7, 1.1, 2.5), n_target=250)
    assert np.all(np.diff(lengths) >= 0) and lengths[0] == 0.0 and lengths[-1] <= radius
    assert 200 < len(offs) < 300
    k = np.floor(radius / np.array([0.7, 1.1, 2.5])).astype(int) + 1
    grid = np.mgrid[-k[0]:k[0] + 1, -k[1]:k[1] + 1, -k[2]:k[2] + 1].reshape(3, -1).T
    inside = np.sqrt(((grid * [0.7, 1.1, 2.5]) ** 2).sum(1)) <= radius
    assert inside.sum() == len(offs)
