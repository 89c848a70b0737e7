"""The synthetic-data engine (phantom.synth): anatomy rules (trunk from the right ventricle, veins into the left
atrium, arteries beside the bronchi, label definition), contrast phases, fields of view, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from medvlseg.data.phantom import checks, rules
from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.synth import synth_case
from medvlseg.data.phantom.synth_presets import get_synth_preset


@pytest.fixture(scope="module")
def cases():
    """Two non-contrast CTA-like engine cases (tiny preset, ~3.3 mm, ≤ 54 voxels per axis)."""
    return [synth_case(get_synth_preset("tiny"), seed, contrast="none") for seed in (0, 1)]


def test_arrays_geometry_and_determinism(cases):
    case = cases[0]
    assert case.image.dtype == np.int16 and case.label.dtype == np.uint8 and max(case.image.shape) <= 64
    for name in ("label", "lung", "airway", "side", "tissue"):
        assert getattr(case, name).shape == case.image.shape, name
    np.testing.assert_allclose(np.diag(case.affine)[:3], case.spacing)
    again = synth_case(get_synth_preset("tiny"), 0, contrast="none")
    np.testing.assert_array_equal(again.image, case.image)
    np.testing.assert_array_equal(again.label, case.label)
    assert not np.array_equal(cases[1].label, case.label)


def test_trunk_connects_to_right_ventricle(cases):
    for case in cases:
        art = rules.artery_rule(case)
        assert art["rv_touching_components"] == 1 and art["rv_connected_fraction"] >= 0.95, art
        marks = case.meta["landmarks_mm"]
        assert [rules.label_at(case, marks[k]) for k in ("pulmonary_valve", "trunk_mid", "bifurcation")] == [1, 1, 1]
        assert rules.label_at(case, marks["rv_centre"]) == 0  # the chamber itself is not artery


def test_every_vein_component_reaches_left_atrium(cases):
    for case in cases:
        vein = rules.vein_rule(case, min_voxels=10)  # smaller bits: sub-half-voxel twigs cut by partial volume
        assert vein["components"] == vein["components_reaching_la"], vein
        assert vein["la_connected_fraction"] >= 0.95, vein
        assert 3 <= vein["ostia_components"] <= sum(case.meta["vein_ostia"]), vein


def test_rules_fail_on_broken_anatomy(cases):
    case = cases[0]
    no_la = type(case)(**{**vars(case), "tissue": np.where(case.tissue == T.LA, T.FAT, case.tissue).astype(np.uint8)})
    assert rules.vein_rule(no_la, min_voxels=10)["components_reaching_la"] == 0
    no_rv = type(case)(**{**vars(case), "tissue": np.where(case.tissue == T.RV, T.FAT, case.tissue).astype(np.uint8)})
    assert rules.artery_rule(no_rv)["rv_touching_components"] == 0
    swapped = type(case)(**{**vars(case), "label": np.where(case.label > 0, 3 - case.label, 0).astype(np.uint8)})
    assert not rules.definition_rule(swapped)["artery_in_pa_tissue"]


def test_arteries_nearer_to_bronchi_than_veins(cases):
    for case in cases:
        d = checks.airway_distances(case.label, case.airway, case.spacing, min_radius_mm=1.0, region=case.lung)
        assert d["vein_median_mm"] > d["artery_median_mm"] + 3.0, d


def test_labels_follow_the_definition(cases):
    for case in cases:
        marks = case.meta["landmarks_mm"]
        assert rules.label_at(case, marks["aorta_arch"]) == 0 and rules.label_at(case, marks["la_centre"]) == 0
        d = rules.definition_rule(case)
        assert d["artery_in_pa_tissue"] and d["vein_in_pv_tissue"] and d["chambers_or_aorta_labelled"] == 0, d
        assert (case.side[case.label > 0] > 0).all() and set(np.unique(case.label5())) == {0, 1, 2, 3, 4}
        in_lung = (case.label > 0) & (case.lung > 0)
        assert in_lung.sum() > 0.5 * (case.label > 0).sum()  # most of both trees is intrapulmonary


def test_intensity_and_radius_do_not_separate_in_phase_none(cases):
    for case in cases:
        auc = checks.intensity_radius_auc(case.image, case.label, case.spacing, region=case.lung)
        assert max(auc.values()) <= 0.65, auc
        assert case.meta["hu"]["artery"] == case.meta["hu"]["vein"]


def test_phase_none_vessel_cores_share_one_blood_value():
    """At ~2 mm the vessel cores read the same blood HU (|gap| < 25 HU); at 3+ mm vein cores are all partial volume."""
    cfg = get_synth_preset("tiny", spacing_xy=(1.9, 2.0), spacing_z=(1.9, 2.0), max_voxels=450_000, supersample=1,
                           max_points=500)
    gap = checks.contrast_gap(*(lambda c: (c.image, c.label))(synth_case(cfg, 2, contrast="none")))
    assert gap["vein_core_voxels"] > 100 and abs(gap["core_gap_hu"]) < 25, gap


@pytest.mark.parametrize("phase", ["arterial", "venous", "random"])
def test_contrast_phases(phase):
    case = synth_case(get_synth_preset("tiny"), 3, contrast=phase)
    gap = checks.contrast_gap(case.image, case.label)
    assert case.meta["phase"] == phase
    if phase == "arterial":  # CTPA: arteries and right heart far brighter than veins and left heart
        assert gap["gap_hu"] > 150 and gap["core_gap_hu"] > 150, gap
        assert case.meta["hu"]["right_ventricle"] > case.meta["hu"]["left_atrium"] + 150
    elif phase == "venous":
        assert case.meta["hu"]["vein"] >= case.meta["hu"]["artery"] >= 120
    else:  # SynthSeg-style: every tissue drawn on its own, even the pools that share blood in a real scan
        assert case.meta["hu"]["right_ventricle"] != case.meta["hu"]["artery"]


@pytest.mark.parametrize("fov", ["thorax", "one_lung", "bases"])
def test_fields_of_view(fov):
    cfg = get_synth_preset("tiny", max_voxels=40_000, max_points=400, supersample=1)
    case = synth_case(cfg, 4, contrast="none", fov=fov)
    extent = np.array(case.image.shape) * np.array(case.spacing)
    assert case.meta["fov"] == fov and case.label.any()
    if fov == "one_lung":
        sides = np.bincount(case.lung.ravel(), minlength=3)[1:]
        assert sides.min() < 0.2 * sides.max(), sides  # one lung (plus at most a sliver of the other)
    elif fov == "thorax":
        assert extent[0] > 280 and extent[2] > 220, extent
    else:
        assert extent[2] < 200 and (case.tissue == T.LIVER).any(), extent


def test_phantom_cli_engine_contrast_and_gallery(tmp_path, capsys):
    from medvlseg.cli import main

    out = tmp_path / "ph"
    assert main(["phantom", "--out", str(out), "--preset", "tiny", "--contrast", "arterial", "--cases", "2",
                 "--preview", "--seed", "4"]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if x.startswith("arterial:"))
    assert float(line.split("artery - vein ")[1].split(" HU")[0]) > 150, line
    assert (out / "gallery.png").stat().st_size > 10_000 and len(list((out / "images").iterdir())) == 2
    assert main(["validate", str(out / "dataset.json")]) == 0
    assert main(["phantom", "--out", str(tmp_path / "bad"), "--engine", "classic", "--contrast", "none"]) == 1
    assert "need the engine" in capsys.readouterr().err
