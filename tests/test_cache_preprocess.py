"""preprocess_image / preprocess_case / invert_to_source and the PreprocessConfig contract."""

from pathlib import Path

import numpy as np
import pytest

from medvlseg.data.preprocess import PreprocessConfig, invert_to_source, preprocess_case, preprocess_image
from medvlseg.data.synthetic import synthetic_chest
from medvlseg.errors import ConfigError, InputError
from medvlseg.io import Case, Volume, read_image
from medvlseg.utils.config import from_dict, load, save

def _volume(spacing=(2.0, 2.0, 2.5)) -> Volume:
    chest = synthetic_chest(shape=(40, 40, 32), spacing=spacing, seed=7)
    return Volume.from_canonical(chest.hu, np.diag([*spacing, 1.0]))


def test_resampled_image_and_inverse_geometry() -> None:
    vol = _volume()
    cfg = PreprocessConfig(target_spacing=(3.0, 3.0, 3.0), sigmas_mm=(3.0,), block_size=16)
    prep = preprocess_image(vol, cfg)
    assert prep.image.shape == (2, 27, 27, 27) and prep.image.dtype == np.float32
    assert prep.lung.shape == prep.image.shape[1:]
    assert set(np.unique(prep.lung)) == {0, 1, 2}
    assert prep.spacing == pytest.approx((80 / 27, 80 / 27, 80 / 27))
    # the working affine keeps the field of view: the grid's outer corner is where the input's was
    corner = prep.affine @ np.array([26.5, 26.5, 26.5, 1.0])
    np.testing.assert_allclose(corner, vol.affine @ np.array([39.5, 39.5, 31.5, 1.0]), atol=1e-9)
    prob = invert_to_source(prep.image[0], prep, "linear")
    assert prob.shape == vol.array.shape
    windowed = np.clip((vol.array + 700.0) / 1000.0, 0, 1)
    assert np.corrcoef(prob.ravel(), windowed.ravel())[0, 1] > 0.95
    lab = invert_to_source(prep.lung, prep, "nearest")
    assert lab.shape == vol.array.shape and lab.dtype == np.uint8
    assert set(prep.timings) >= {"resample", "window", "tubularity", "lungs"}


def test_config_round_trip_and_validation(tmp_path: Path) -> None:
    cfg = PreprocessConfig(target_spacing=(1.0, 1.0, 1.5), sigmas_mm=(0.8, 1.6))
    save(cfg, tmp_path / "pre.yaml")
    assert load(PreprocessConfig, tmp_path / "pre.yaml") == cfg
    with pytest.raises(ConfigError):
        from_dict(PreprocessConfig, {"window": [300, -700]})
    with pytest.raises(ConfigError):
        from_dict(PreprocessConfig, {"target_spacing": [1.0, 0.0, 1.0]})


def test_label_grid_mismatch_is_an_input_error(tmp_path: Path) -> None:
    import nibabel as nib

    vol = _volume()
    nib.save(nib.Nifti1Image(vol.array, vol.affine), str(tmp_path / "ct.nii.gz"))
    nib.save(nib.Nifti1Image(np.zeros((10, 10, 10), np.uint8), np.eye(4)), str(tmp_path / "lab.nii.gz"))
    case = Case("x", "training", tmp_path / "ct.nii.gz", tmp_path / "lab.nii.gz")
    with pytest.raises(InputError, match="lab.nii.gz"):
        preprocess_case(case, PreprocessConfig(tubularity=False))


def test_real_ct_preprocesses_with_two_lungs(real_ct_dir: Path) -> None:
    case = Case("real", "test", real_ct_dir / "ct.nii.gz", real_ct_dir / "pulmonary_artery.nii.gz", "both")
    prep = preprocess_case(case, PreprocessConfig(sigmas_mm=(1.5, 3.0)))
    vol = read_image(real_ct_dir / "ct.nii.gz")
    assert prep.image.shape == (2, *vol.array.shape)
    counts = np.bincount(prep.lung.ravel(), minlength=3)
    assert counts[1] > 0.05 * prep.lung.size and counts[2] > 0.05 * prep.lung.size
    assert set(np.unique(prep.label)) <= {0, 1, 3} and (prep.label == 1).any() and (prep.label == 3).any()
    tub, hu = prep.image[1], np.asarray(vol.array)
    vessels, parenchyma = (prep.lung > 0) & (hu > 0), (prep.lung > 0) & (hu < -750)
    assert tub[vessels].mean() > 5 * tub[parenchyma].mean()  # intrapulmonary vessels stand out
    assert 0.0 <= tub.min() and tub.max() <= 1.0
