"""3-class ↔ 5-class label conversion and annotated flags."""

import numpy as np
import pytest

from medvlseg.data.labels import annotated_flags, to_five_class, to_three_class


def _lungs_and_vessels() -> tuple[np.ndarray, np.ndarray]:
    lung = np.zeros((32, 20, 16), dtype=np.uint8)
    lung[2:13] = 1  # left lung: low axis-0
    lung[19:30] = 2
    label = np.zeros_like(lung)
    label[5, 5:15, 8] = 1  # left artery
    label[8, 5:15, 4] = 2  # left vein
    label[25, 5:15, 8] = 1  # right artery
    label[22, 5:15, 4] = 2  # right vein
    label[14, 3, 3] = 1  # hilum, outside the lungs, nearer the left lung (x=12)
    label[17, 3, 3] = 2  # nearer the right lung (x=19)
    return label, lung


def test_five_class_sides_and_round_trip() -> None:
    label, lung = _lungs_and_vessels()
    five = to_five_class(label, lung)
    assert five[5, 10, 8] == 1 and five[8, 10, 4] == 2 and five[25, 10, 8] == 3 and five[22, 10, 4] == 4
    assert five[14, 3, 3] == 1 and five[17, 3, 3] == 4  # mediastinal voxels follow the nearest lung
    assert five.dtype == np.uint8
    np.testing.assert_array_equal(to_three_class(five), label)


def test_nearest_lung_uses_mm_spacing() -> None:
    label, lung = _lungs_and_vessels()
    label[:] = 0
    label[15, 3, 3] = 1  # 3 voxels from the left lung, 4 from the right along axis 0
    assert to_five_class(label, lung)[15, 3, 3] == 1
    lung2 = lung.copy()
    lung2[19:30] = 0
    lung2[15, 10, 3] = 2  # a right-lung voxel 7 voxels away along axis 1 (0.1 mm voxels there)
    assert to_five_class(label, lung2, spacing=(1.0, 0.1, 1.0))[15, 3, 3] == 3


def test_annotated_flags() -> None:
    np.testing.assert_array_equal(annotated_flags("left"), [True, True, False, False])
    np.testing.assert_array_equal(annotated_flags("right"), [False, False, True, True])
    assert annotated_flags("both").all() and annotated_flags("both").dtype == bool
    with pytest.raises(ValueError):
        annotated_flags("middle")


def test_bad_values_are_rejected() -> None:
    label, lung = _lungs_and_vessels()
    label[0, 0, 0] = 3
    with pytest.raises(ValueError, match="unexpected values"):
        to_five_class(label, lung)
    with pytest.raises(ValueError):
        to_three_class(np.array([0, 5], dtype=np.uint8))


def test_subsampled_nearest_lung_search_agrees() -> None:
    from medvlseg.data.labels import vessel_sides

    label, lung = _lungs_and_vessels()
    label[17, 3, 3] = 0
    label[18, 3, 5] = 2  # 1 voxel from the right lung, 6 from the left: clear even on a 2x coarser grid
    exact = to_five_class(label, lung)
    assert exact[18, 3, 5] == 4

    coarse = vessel_sides(label, lung, max_voxels=lung.size // 8)
    np.testing.assert_array_equal(coarse, (exact > 0) * (1 + (exact > 2)))
