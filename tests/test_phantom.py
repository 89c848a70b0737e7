"""The phantom is a fair artery/vein benchmark: geometry, determinism, intensity/size uninformative,
arteries beside airways, connected trees, documented HU ranges, left lung at low x."""

from __future__ import annotations

import numpy as np
import pytest

from medvlseg.data.phantom import checks, generate_case, get_preset
from medvlseg.data.phantom.benchmark import annotate


@pytest.fixture(scope="module")
def tiny():
    return generate_case(get_preset("tiny"), 11, contrast=False)


@pytest.fixture(scope="module")
def small_cases():
    return [generate_case(get_preset("small"), seed, contrast=False) for seed in (0, 1)]


def test_arrays_and_geometry(tiny):
    cfg = get_preset("tiny")
    assert tiny.image.shape == cfg.shape and max(cfg.shape) <= 48
    assert tiny.image.dtype == np.int16 and tiny.label.dtype == np.uint8 and tiny.lung.dtype == np.uint8
    assert set(np.unique(tiny.label)) == {0, 1, 2}
    assert set(np.unique(tiny.lung)) == {0, 1, 2}
    assert tiny.airway.any() and tiny.airway.shape == tiny.image.shape
    np.testing.assert_allclose(np.diag(tiny.affine)[:3], tiny.spacing)
    assert not tiny.meta["contrast"] and tiny.meta["hu"]["artery"] == tiny.meta["hu"]["vein"]


def test_deterministic_and_seed_dependent(tiny):
    again = generate_case(get_preset("tiny"), 11, contrast=False)
    for name in ("image", "label", "lung", "airway", "side", "affine"):
        np.testing.assert_array_equal(getattr(tiny, name), getattr(again, name))
    other = generate_case(get_preset("tiny"), 12, contrast=False)
    assert not np.array_equal(tiny.label, other.label)


def test_left_lung_and_left_vessels_at_low_x(tiny):
    xs = np.arange(tiny.image.shape[0])[:, None, None]
    x_world = tiny.affine[0, 0] * np.broadcast_to(xs, tiny.image.shape) + tiny.affine[0, 3]
    assert x_world[tiny.lung == 1].mean() < 0 < x_world[tiny.lung == 2].mean()
    left, right = (tiny.side == 1) & (tiny.lung > 0), (tiny.side == 2) & (tiny.lung > 0)
    assert left.any() and right.any()
    assert x_world[left].max() < x_world[right].min()


def test_intensity_and_radius_do_not_separate_artery_from_vein(small_cases):
    for case in small_cases:
        auc = checks.intensity_radius_auc(case.image, case.label, case.spacing, region=case.lung)
        assert max(auc.values()) <= 0.65, auc


def test_auc_check_detects_an_informative_intensity(tiny):
    brighter = tiny.image.astype(np.float32) + 150.0 * (tiny.label == 1)  # arteries made brighter by hand
    auc = checks.intensity_radius_auc(brighter, tiny.label, tiny.spacing, region=tiny.lung)
    assert auc["auc_intensity"] > 0.8 and auc["auc_logistic"] > 0.8, auc


def test_contrast_phase_draws_overlapping_values():
    case = generate_case(get_preset("tiny"), 5, contrast=True)
    hu = case.meta["hu"]
    assert case.meta["contrast"] and 80 <= hu["artery"] <= 500 and 80 <= hu["vein"] <= 500
    assert hu["artery"] != hu["vein"]


def test_arteries_run_closer_to_airways_than_veins(small_cases):
    for case in small_cases:
        d = checks.airway_distances(case.label, case.airway, case.spacing, min_radius_mm=1.0, region=case.lung)
        assert d["artery_median_mm"] < 4.5, d
        assert d["vein_median_mm"] > d["artery_median_mm"] + 1.5, d


def test_each_tree_is_connected_per_side(tiny, small_cases):
    for case in [tiny, *small_cases]:
        comps = checks.tree_components(case.label, case.side)
        for key, value in comps.items():
            assert value["components"] >= 1, key
            assert value["largest_fraction"] >= 0.95, (key, value)


def test_hu_statistics_in_documented_ranges(small_cases):
    for case in small_cases:
        med = checks.hu_medians(case.image, case.label, case.lung, case.airway)
        assert -900 <= med["lung"] <= -700, med
        assert 20 <= med["blood"] <= 65, med
        assert med["air"] <= -850, med
        assert 28 <= case.meta["hu"]["artery"] <= 55


def test_half_annotation_keeps_one_side(tiny):
    left = annotate(tiny, "left")
    assert left.any() and not left[tiny.side == 2].any()
    np.testing.assert_array_equal(left[tiny.side == 1], tiny.label[tiny.side == 1])
    assert (tiny.side[tiny.label > 0] > 0).all()
    np.testing.assert_array_equal(annotate(tiny, "both"), tiny.label)


def test_label5_splits_sides(tiny):
    five = tiny.label5()
    assert set(np.unique(five)) == {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(five > 0, tiny.label > 0)
    np.testing.assert_array_equal(np.isin(five, (3, 4)), tiny.side == 2)
    np.testing.assert_array_equal(np.isin(five, (1, 3)), tiny.label == 1)
