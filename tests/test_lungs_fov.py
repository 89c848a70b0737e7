"""Lungs in any field of view (issue 18): 4 mm whole thorax with touching lungs, one-lung crops (phantom and the
real CTA, either half), lung bases, heart-centred crops, undecidable sides, no lung; and the predict path keeps
the arteries and veins of both lungs (lung restriction) and runs on one-lung crops of the real CTA."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lung_phantoms import half, thorax_4mm, touching
from medvlseg.data.lungs import LungSplitError, lung_regions
from medvlseg.data.preprocess import LUNG_SIDE_UNKNOWN, PreprocessConfig, preprocess_image
from medvlseg.errors import InputError
from medvlseg.infer.postprocess import lung_region, postprocess_labels
from medvlseg.io import Volume

REAL_CT = Path(__file__).resolve().parents[1].parent / "shared/data/real/ts_chest_cta_pulm/ct.nii.gz"
SPACING = (4.0, 4.0, 4.0)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1, int(a.sum() + b.sum()))


@pytest.fixture(scope="module")
def case():  # type: ignore[no-untyped-def]
    """The 4 mm whole-thorax phantom and its touching-lungs variant (HU, lung truth)."""
    c = thorax_4mm()
    hu, lung = touching(c)
    assert (lung > 0).sum() > (c.lung > 0).sum()  # the junction was painted
    return c, hu, lung


def _sides(hu: np.ndarray, spacing=SPACING):  # type: ignore[no-untyped-def]
    return lung_regions(hu.astype(np.float32), spacing)


def test_touching_lungs_at_4mm_are_split(case) -> None:  # type: ignore[no-untyped-def]
    c, hu, truth = case
    from medvlseg.data.lung_sides import side_by_side

    joined = (hu < -400) & (truth > 0)
    assert not side_by_side(truth == 1, truth == 2, SPACING) or joined.any()
    result = _sides(hu)
    assert result.sides is not None and "junction" in result.how
    for k in (1, 2):
        assert _dice(result.sides == k, truth == k) > 0.9


@pytest.mark.parametrize("which", ["left", "right"])
def test_one_lung_crop_gets_its_side(case, which: str) -> None:  # type: ignore[no-untyped-def]
    _, hu, truth = case
    result = _sides(half(hu, which))
    k = 1 if which == "left" else 2
    assert result.sides is not None, result.how
    assert _dice(result.sides == k, half(truth, which) == k) > 0.9
    assert not (result.sides == 3 - k).any()


def test_lung_bases_and_heart_centred_crop(case) -> None:  # type: ignore[no-untyped-def]
    _, hu, truth = case
    zs = np.flatnonzero((truth > 0).any(axis=(0, 1)))
    bases = np.s_[:, :, : zs[0] + (zs[-1] - zs[0]) // 4]
    heart = np.s_[18:62, 8:56, 16:48]
    for crop, floor in ((bases, 0.8), (heart, 0.9)):
        result = _sides(hu[crop])
        assert result.sides is not None, result.how
        for k in (1, 2):
            assert _dice(result.sides == k, truth[crop] == k) > floor


def test_undecidable_side_predicts_without_sides(case, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    c, hu, truth = case
    x0 = int(np.argwhere(truth == 1)[:, 0].min()) + 3
    crop = hu[x0:x0 + 8]  # a strip inside the left lung: both faces cut through lung, no mediastinum
    result = _sides(crop)
    assert result.sides is None and result.mask.any()
    vol = Volume.from_canonical(crop, np.diag([*SPACING, 1.0]))
    config = PreprocessConfig(tubularity=False)
    with pytest.raises(InputError, match="cannot be decided"):
        preprocess_image(vol, config, where="strip")  # training needs sides
    prep = preprocess_image(vol, config, where="strip", sides_required=False)
    assert set(np.unique(prep.lung)) == {0, LUNG_SIDE_UNKNOWN}
    assert "without sides" in caplog.text


def test_no_lung_in_view_is_the_only_error() -> None:
    with pytest.raises(LungSplitError, match="no lung in view"):
        lung_regions(np.full((32, 32, 32), 40.0, dtype=np.float32), SPACING)


@pytest.mark.parametrize("crop", ["whole", "left", "right"])
def test_vessels_of_every_lung_in_view_survive_the_lung_restriction(case, crop: str) -> None:  # type: ignore[no-untyped-def]
    """Predict's post-processing with the lung map of the touching 4 mm case (or a one-lung crop) keeps the
    true arteries and veins (truth labels used as the network output): a lost lung would drop its vessels."""
    c, hu, _ = case
    label = c.label if crop == "whole" else half(c.label, crop)
    image = hu if crop == "whole" else half(hu, crop)
    vol = Volume.from_canonical(image, np.diag([*SPACING, 1.0]))
    prep = preprocess_image(vol, PreprocessConfig(tubularity=False), where=crop, sides_required=False)
    kept = postprocess_labels(label.astype(np.uint8), SPACING, 0.0, lung_region(prep.lung, SPACING, 10.0))
    side = c.side if crop == "whole" else half(c.side, crop)
    for value in (1, 2):  # artery, vein
        for s in np.unique(side[label == value]):
            truth = (label == value) & (side == s)
            assert (kept[truth] == value).mean() > 0.95, (value, s)


@pytest.mark.parametrize("which", ["left", "right"])
def test_real_cta_one_lung_crop_predicts(which: str, tiny_run: Path, tmp_path: Path) -> None:
    """The real CTA cropped to either half (a temp copy, never committed) predicts in its own geometry."""
    if not REAL_CT.is_file():
        pytest.skip(f"{REAL_CT} not present")
    from medvlseg.cli import main
    from medvlseg.io import read_image

    vol = read_image(REAL_CT)
    arr = half(np.asarray(vol.array), which)
    crop = Volume.from_canonical(arr, vol.affine if which == "left" else
                                 vol.affine @ np.array([[1, 0, 0, vol.shape[0] // 2], [0, 1, 0, 0], [0, 0, 1, 0],
                                                        [0, 0, 0, 1.0]]), "LPS")
    from medvlseg.io import write_image

    src = write_image(tmp_path / f"{which}.nii.gz", arr, like=crop)
    found = lung_regions(arr.astype(np.float32), vol.spacing)
    assert found.sides is not None and set(np.unique(found.sides)) == {0, 1 if which == "left" else 2}
    out = tmp_path / "pred.nii.gz"
    assert main(["predict", "-i", str(src), "-o", str(out), "-m", str(tiny_run), "--fast", "--no-progress"]) == 0
    a, b = nib.load(str(out)), nib.load(str(src))
    assert a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-5)


def test_heart_on_the_headers_right_is_flagged(case, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Sides follow the header but are checked against the heart: a mirrored image (same header) warns."""
    from medvlseg.data.lung_sides import heart_offset

    c, _, _ = case
    normal = _sides(c.image)
    assert "heart" not in normal.how and heart_offset(normal.sides, c.image, SPACING) < 0
    with caplog.at_level("WARNING", logger="medvlseg.data.lung_sides"):
        mirrored = _sides(c.image[::-1].copy())
    assert "heart lies on the patient's right" in mirrored.how
    assert any("mirrored" in r.getMessage() for r in caplog.records)
    assert _dice(mirrored.sides[::-1] == 2, normal.sides == 1) > 0.9  # still the header's sides, not swapped


def test_real_cta_heart_is_on_the_left() -> None:
    if not REAL_CT.is_file():
        pytest.skip(f"{REAL_CT} not present")
    from medvlseg.io import read_image

    vol = read_image(REAL_CT)
    found = lung_regions(np.asarray(vol.array, dtype=np.float32), vol.spacing)
    assert found.sides is not None and "heart" not in found.how


@pytest.fixture(scope="module")
def shipped_predictions(case):  # type: ignore[no-untyped-def]
    """The shipped default model on the touching-lungs 4 mm thorax and its one-lung crops: {crop: (pred, truth, side)}."""
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.models.zoo import resolve_model

    c, hu, _ = case
    predictor = Predictor.from_run(resolve_model(None), PredictOptions(fast=True))  # the model's 2 mm grid
    out = {}
    for crop in ("whole", "left", "right"):
        cut = (lambda a: a) if crop == "whole" else (lambda a, w=crop: half(a, w))
        vol = Volume.from_canonical(cut(hu).astype(np.float32), np.diag([*SPACING, 1.0]))
        out[crop] = (predictor.predict_volume(vol).labels, cut(c.label), cut(c.side))
    return out


@pytest.mark.parametrize("crop", ["whole", "left", "right"])
def test_shipped_model_finds_arteries_and_veins_in_every_lung_in_view(shipped_predictions, crop: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 18's done-means with a trained model: 4 mm whole thorax with touching lungs and one-lung crops give
    arteries and veins in each lung in view, above a vessel-overlap floor (an untrained or broken model fails)."""
    pred, label, side = shipped_predictions[crop]
    assert _dice(pred > 0, label > 0) > 0.35  # measured 0.42-0.52 with the shipped model (2026-11-29)
    assert _dice(pred == 2, label == 2) > 0.3  # vein, measured 0.50-0.63
    for s in np.unique(side[label > 0]):
        if (label[side == s] > 0).sum() < 0.2 * (label > 0).sum():  # a sliver of the other lung at the crop's edge
            continue
        for value in (1, 2):
            assert ((pred == value) & (side == s)).sum() >= 50, (crop, s, value)


@pytest.mark.parametrize("spacing_mm, noise_hu, crop", [
    (0.5, 0.0, True), (0.5, 150.0, True), (1.0, 80.0, True), (2.0, 0.0, False), (6.0, 0.0, False),
    (6.0, 120.0, False), (4.0, 200.0, False)])
def test_lungs_and_sides_from_half_mm_to_6mm_and_low_dose(case, spacing_mm: float, noise_hu: float,
                                                          crop: bool) -> None:  # type: ignore[no-untyped-def]
    """The 4 mm thorax resampled to 0.5-6 mm voxels (0.5-1 mm: a heart-centred 100 x 100 x 60 mm crop, as a
    CTA field of view) with low-dose noise (Gaussian, HU sigma) keeps both lungs and their sides."""
    from scipy import ndimage

    c, _, _ = case
    hu, truth = c.image.astype(np.float32), c.lung
    if crop:  # the field of a CTA: centre of the chest, both hila, parts of both lungs
        cx, cy, cz = (np.array(hu.shape) // 2)
        box = (slice(cx - 12, cx + 13), slice(cy - 12, cy + 13), slice(cz - 7, cz + 8))
        hu, truth = hu[box], truth[box]
    zoom = 4.0 / spacing_mm
    hu = ndimage.zoom(hu, zoom, order=1)
    truth = ndimage.zoom(truth, zoom, order=0)
    hu += np.random.default_rng(0).normal(0.0, noise_hu, hu.shape).astype(np.float32) if noise_hu else 0.0
    result = lung_regions(hu, (spacing_mm,) * 3)
    assert result.sides is not None, result.how
    both = (result.sides > 0) & (truth > 0)
    assert (result.sides[both] == truth[both]).mean() > 0.99  # no side swapped
    for k in (1, 2):  # each lung found (crops: lungs cut by the field's edge lose thin rims: recall measured 0.32-0.8)
        assert ((result.sides == k) & (truth == k)).sum() > (0.25 if crop else 0.8) * (truth == k).sum(), k
