"""`--refine topology`: whole segments relabelled from the vessel graph (synthetic two-tree volumes, 48³)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from medvlseg.infer.refine import TopologyOptions, refine_topology
from medvlseg.infer.refine.graph import build_graph
from medvlseg.infer.refine.labelling import min_cut_labels
from medvlseg.infer.refine.priors import airway_lumen, beside_airway
from medvlseg.infer.refine.topology import balance_shift, drop_islands

SHAPE = (48, 48, 48)


def tube(p0: tuple[float, float, float], p1: tuple[float, float, float], radius: float) -> np.ndarray:
    """Boolean capsule (voxels within `radius` of the segment p0–p1) on the SHAPE grid."""
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in SHAPE], indexing="ij"), axis=-1)
    a, b = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    t = np.clip(((grid - a) @ (b - a)) / float((b - a) @ (b - a)), 0.0, 1.0)
    return np.linalg.norm(grid - (a + t[..., None] * (b - a)), axis=-1) <= radius


@pytest.fixture(scope="module")
def trees() -> dict[str, np.ndarray]:
    """Artery: a straight main branch along x with two side branches; vein: a line along y crossing it at x=38."""
    main_a, flipped = tube((3, 16, 24), (44, 16, 24), 2.5), np.zeros(SHAPE, bool)
    side1, side2 = tube((14, 16, 24), (24, 30, 24), 2.0), tube((27, 16, 24), (30, 4, 36), 2.0)
    artery = main_a | side1 | side2
    vein = tube((38, 3, 24), (38, 44, 24), 2.0) & ~artery
    flipped[18:25] = main_a[18:25]  # part of the main artery branch between the two side branches
    return {"artery": artery, "vein": vein, "flipped": flipped & artery}


def probabilities(artery: np.ndarray, vein: np.ndarray, p_artery: float, p_vein: float) -> np.ndarray:
    """(2, X, Y, Z) probabilities: artery voxels (p_artery, 1 − p_artery), vein voxels (1 − p_vein, p_vein)."""
    probs = np.zeros((2, *SHAPE), np.float32)
    probs[0][artery], probs[1][artery] = p_artery, 1 - p_artery
    probs[0][vein], probs[1][vein] = 1 - p_vein, p_vein
    return probs


def decide(probs: np.ndarray) -> np.ndarray:
    """Voxel-wise labels (1 artery, 2 vein) where either probability ≥ 0.5."""
    fg = probs.max(0) >= 0.5
    return np.where(fg, np.argmax(probs, 0) + 1, 0).astype(np.uint8)


def test_flipped_branch_segment_is_restored(trees: dict[str, np.ndarray]) -> None:
    artery, vein, flipped = trees["artery"], trees["vein"], trees["flipped"]
    probs = probabilities(artery, vein, 0.9, 0.9)
    probs[0][flipped], probs[1][flipped] = 0.2, 0.8  # network evidence flipped on one branch segment
    labels = decide(probs)
    assert np.all(labels[flipped] == 2)  # voxel-wise: the segment is vein
    out = refine_topology(labels, probs[0] - probs[1], (1.0, 1.0, 1.0))
    assert np.array_equal(out > 0, labels > 0)  # the vessel mask is never changed
    assert np.all(out[artery] == 1)
    assert np.all(out[vein] == 2)


def test_crossing_is_not_merged(trees: dict[str, np.ndarray]) -> None:
    artery, vein = trees["artery"], trees["vein"]
    probs = probabilities(artery, vein, 0.95, 0.6)  # a confident artery crossing a weakly detected vein
    labels = decide(probs)
    out = refine_topology(labels, probs[0] - probs[1], (1.0, 1.0, 1.0))
    assert np.all(out[vein] == 2) and np.all(out[artery] == 1)


def test_scattered_voxel_errors_become_one_class_per_segment(trees: dict[str, np.ndarray]) -> None:
    artery, vein = trees["artery"], trees["vein"]
    probs = probabilities(artery, vein, 0.8, 0.8)
    noise = np.random.default_rng(0).random(SHAPE) < 0.3  # 30 % of voxels flipped at random
    probs[:, noise] = probs[::-1][:, noise]
    labels = decide(probs)
    wrong_before = np.count_nonzero(labels[artery] != 1) + np.count_nonzero(labels[vein] != 2)
    out = refine_topology(labels, probs[0] - probs[1], (1.0, 1.0, 1.0))
    assert wrong_before > 0.2 * (artery.sum() + vein.sum())
    away = ~tube((38, 16, 24), (38, 16.5, 24), 5.0)  # at the crossing itself the network's own voxel labels stay
    assert np.all(out[artery & away] == 1) and np.all(out[vein & away] == 2)


def test_graph_of_a_crossing_and_a_bifurcation(trees: dict[str, np.ndarray]) -> None:
    graph = build_graph(trees["artery"] | trees["vein"], (1.0, 1.0, 1.0))
    assert graph.n >= 7  # main artery split 3 times, 2 side branches, 2 vein halves
    assert graph.pairs.shape[0] > 0 and np.all(np.abs(graph.straight) <= 1.0 + 1e-9)
    assert graph.radius_mm.max() > 1.5


def test_coarse_graph_on_fine_grid_matches(trees: dict[str, np.ndarray]) -> None:
    artery, vein, flipped = trees["artery"], trees["vein"], trees["flipped"]
    probs = probabilities(artery, vein, 0.9, 0.9)
    probs[0][flipped], probs[1][flipped] = 0.2, 0.8
    out = refine_topology(decide(probs), probs[0] - probs[1], (0.5, 0.5, 0.5), TopologyOptions(graph_spacing_mm=1.0,
                                                                                        min_island_mm3=0.0))
    assert np.all(out[artery] == 1) and np.all(out[vein] == 2)


def test_min_cut_is_exact_on_a_chain() -> None:
    # chain a–b–c; b's own evidence (−1) is outweighed by ties of 2 to both neighbours voting artery (+5)
    pairs = np.array([[0, 1], [1, 2]])
    assert min_cut_labels(np.array([5.0, -1.0, 5.0]), pairs, np.array([2.0, 2.0])).tolist() == [True] * 3
    assert min_cut_labels(np.array([5.0, -9.0, 5.0]), pairs, np.array([2.0, 2.0])).tolist() == [True, False, True]
    assert min_cut_labels(np.array([-1.0, -1.0]), np.array([[0, 1]]), np.array([0.5])).tolist() == [False, False]


def test_empty_and_shape_errors() -> None:
    labels = np.zeros(SHAPE, np.uint8)
    assert np.array_equal(refine_topology(labels, np.zeros(SHAPE, np.float32), (1, 1, 1)), labels)
    with pytest.raises(ValueError, match="same shape"):
        refine_topology(labels, np.zeros((2, *SHAPE), np.float32), (1, 1, 1))


def test_bronchus_prior_labels_the_vessel_beside_the_airway_artery() -> None:
    # two parallel vessels with no network evidence at all; an airway lumen (air, −1000 HU) runs beside the first
    airway, artery, vein = tube((4, 14, 24), (44, 14, 24), 2.5), tube((4, 20, 24), (44, 20, 24), 2.0), \
        tube((4, 34, 24), (44, 34, 24), 2.0)
    rng = np.random.default_rng(0)
    ct = np.where(artery | vein, 40.0, np.where(airway, -1000.0, -850.0)) + rng.normal(0, 15, SHAPE)
    wall = tube((4, 14, 24), (44, 14, 24), 3.5) & ~airway & ~artery
    ct[wall] = 20.0  # the bronchial wall
    lumen = airway_lumen(ct, artery | vein, (1.0, 1.0, 1.0))
    core, outer = tube((4, 14, 24), (44, 14, 24), 1.5), tube((4, 14, 24), (44, 14, 24), 3.0)
    assert lumen[core].mean() > 0.8 and not lumen[~outer].any()  # the lumen, nothing outside the airway
    labels = np.where(artery | vein, 2, 0).astype(np.uint8)  # the network called both vein, with no confidence
    keep = TopologyOptions(min_island_mm3=0.0, airway_weight=0.2)  # two separate ~500 mm³ tubes; prior on
    out = refine_topology(labels, np.zeros(SHAPE, np.float32), (1.0, 1.0, 1.0), keep, image=ct)
    assert np.all(out[artery] == 1) and np.all(out[vein] == 2)
    assert np.array_equal(refine_topology(labels, np.zeros(SHAPE, np.float32), (1.0, 1.0, 1.0), keep), labels)


def test_beside_airway_fraction() -> None:
    segments = np.zeros(SHAPE, np.int32)
    segments[10:30, 10, 10], segments[10:30, 30, 10] = 1, 2  # two 20-voxel skeleton segments
    lumen = np.zeros(SHAPE, bool)
    lumen[10:20, 14, 10] = True  # beside the first half of segment 1 (4 voxels away)
    dist = ndimage.distance_transform_edt(~lumen)
    frac = beside_airway(segments, 2, np.array([1.0, 1.0]), dist, reach_mm=3.0)
    assert frac.tolist() == [0.5, 0.0]


def test_drop_islands_by_volume() -> None:
    labels = np.zeros(SHAPE, np.uint8)
    labels[5:15, 5:15, 5:15] = 1  # 1000 voxels
    labels[30:33, 30:33, 30:33] = 2  # 27 voxels
    out = drop_islands(labels, (2.0, 1.0, 1.0), 100.0)  # 2000 mm³ and 54 mm³
    assert out[5:15, 5:15, 5:15].all() and not out[30:33, 30:33, 30:33].any()
    assert np.array_equal(drop_islands(labels, (2.0, 1.0, 1.0), 0.0), labels)


def test_balance_shift_keeps_the_networks_artery_share() -> None:
    mean, territory = np.array([0.5, -0.2, 0.1]), np.array([10.0, 10.0, 30.0])
    assert balance_shift(mean, territory, 40.0) == pytest.approx(-0.05)  # segments 0 and 2 (40 voxels) artery
    assert balance_shift(mean, territory, 12.0) == pytest.approx(0.3)  # only segment 0
    assert balance_shift(mean, territory, 0.0) > 0.5 and balance_shift(mean, territory, 50.0) < -0.2
