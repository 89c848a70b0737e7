"""Lung mask and left/right split on canonical arrays, in RAS and LPS files, touching lungs, real CT."""

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvlseg.data.lungs import LungSplitError, lung_map
from medvlseg.data.synthetic import synthetic_chest
from medvlseg.io import read_image


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1, int(a.sum() + b.sum()))


@pytest.mark.parametrize("touching", [False, True])
def test_split_matches_truth(touching: bool) -> None:
    chest = synthetic_chest(seed=3, touching=touching)
    side = lung_map(chest.hu, chest.spacing)
    for k in (1, 2):
        assert _dice(side == k, chest.lung == k) > 0.9
    assert not side[:, :, -1][chest.hu[:, :, -1] < -950].any()  # trachea above the lungs is not lung


@pytest.mark.parametrize("codes", [("R", "A", "S"), ("L", "P", "S")])
def test_left_lung_is_label_one_in_ras_and_lps_files(tmp_path: Path, codes: tuple[str, str, str]) -> None:
    chest = synthetic_chest(seed=4)
    hu, affine = chest.hu, np.diag([*chest.spacing, 1.0])
    if codes == ("L", "P", "S"):  # store the file in LPS voxel order: flip axes 0 and 1
        hu = hu[::-1, ::-1].copy()
        affine = affine @ np.array([[-1, 0, 0, hu.shape[0] - 1], [0, -1, 0, hu.shape[1] - 1],
                                    [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(hu, affine), str(path))
    assert nib.aff2axcodes(nib.load(str(path)).affine) == codes
    vol = read_image(path)
    side = lung_map(np.asarray(vol.array), vol.spacing)
    assert _dice(side == 1, chest.lung == 1) > 0.9  # canonical array == the RAS truth in both cases
    left_x = np.argwhere(side == 1)[:, 0].mean()
    right_x = np.argwhere(side == 2)[:, 0].mean()
    assert left_x < right_x


@pytest.mark.parametrize("kept", [1, 2])
def test_single_lung_gets_its_side_from_anatomy(kept: int) -> None:
    """One lung in a whole-body field of view: the mediastinum lies medial to it, so its side is known."""
    chest = synthetic_chest(seed=5)
    hu = chest.hu.copy()
    hu[(chest.lung > 0) & (chest.lung != kept)] = 40
    side = lung_map(hu, chest.spacing, where="case_x")
    assert set(np.unique(side)) == {0, kept}
    assert _dice(side == kept, chest.lung == kept) > 0.9


def test_no_air_raises_clear_error() -> None:
    with pytest.raises(LungSplitError, match="no lung in view"):
        lung_map(np.full((32, 32, 32), 40, dtype=np.int16), (2.0, 2.0, 2.0))


def test_real_ct_has_two_lungs(real_ct: Path) -> None:
    vol = read_image(real_ct)
    side = lung_map(np.asarray(vol.array), vol.spacing)
    n = side.size
    left, right = (side == 1).sum(), (side == 2).sum()
    assert left > 0.05 * n and right > 0.05 * n
    assert np.argwhere(side == 1)[:, 0].mean() < np.argwhere(side == 2)[:, 0].mean()
    hu = np.asarray(vol.array)
    assert np.median(hu[side > 0]) < -600  # the mask is lung parenchyma, not mediastinum


@pytest.mark.parametrize("seed", [0, 1])
def test_cropped_morphology_equals_whole_volume(seed: int) -> None:
    """Erosion, dilation (EDT in the mask's box) and in-plane hole filling (in its box) equal the whole-volume
    operations, also for masks touching the image border."""
    from scipy import ndimage

    from medvlseg.data.lungs import _fill_inplane
    from medvlseg.data.morphology import dilate_ball as _dilate
    from medvlseg.data.morphology import erode_ball as _erode

    rng = np.random.default_rng(seed)
    mask = ndimage.gaussian_filter(rng.random((40, 36, 30)), 2.0) > 0.52
    mask[:5] = False
    mask[-3:, :8] = True  # touches two faces
    spacing = (1.3, 0.9, 2.1)
    assert mask.any() and not mask.all()
    for r in (1.0, 2.5, 4.0):
        assert np.array_equal(_erode(mask, r, spacing), ndimage.distance_transform_edt(mask, sampling=spacing) > r)
        assert np.array_equal(_dilate(mask, r, spacing),
                              ndimage.distance_transform_edt(~mask, sampling=spacing) <= r)
    side = (mask * rng.integers(1, 3, size=mask.shape)).astype(np.uint8)
    side[10:20, 10:20, 5:9] = 1
    side[13:16, 13:16, 5:9] = 0  # an in-plane hole
    inplane = np.zeros((3, 3, 3), dtype=bool)
    inplane[:, :, 1] = ndimage.generate_binary_structure(2, 1)
    ref = np.zeros_like(side)
    for k in (1, 2):
        filled = ndimage.binary_fill_holes(side == k, structure=inplane)
        ref[filled & (ref == 0)] = k
    assert np.array_equal(_fill_inplane(side), ref)
    assert (ref[13:16, 13:16, 5:9] > 0).all()
