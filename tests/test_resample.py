"""Resampling to a target spacing and its exact inverse (image: linear, labels: nearest)."""

import numpy as np
import nibabel as nib

from medvlseg.data.resample import (inverse_resample, resample_to_spacing, resized_affine, resized_spacing,
                                    target_shape)


def _smooth_volume(shape=(40, 36, 32)) -> np.ndarray:
    x, y, z = np.meshgrid(*(np.linspace(0, 1, n) for n in shape), indexing="ij")
    return (np.sin(3 * x) + np.cos(2 * y) * z).astype(np.float32)


def test_target_shape_keeps_field_of_view() -> None:
    assert target_shape((100, 80, 50), (0.7, 0.7, 2.0), (1.0, 1.0, 1.0)) == (70, 56, 100)
    assert resized_spacing((100, 80, 50), (0.7, 0.7, 2.0), (70, 56, 100)) == (1.0, 1.0, 1.0)


def test_resample_and_inverse_return_input_shape_and_values() -> None:
    vol = _smooth_volume()
    spacing = (1.0, 1.2, 2.5)
    res = resample_to_spacing(vol, spacing, (0.8, 0.8, 0.8))
    assert res.shape == target_shape(vol.shape, spacing, (0.8, 0.8, 0.8))
    assert res.shape != vol.shape
    back = inverse_resample(res, vol.shape)
    assert back.shape == vol.shape
    interior = (slice(2, -2),) * 3
    assert np.abs(back - vol)[interior].max() < 0.05
    assert np.corrcoef(back.ravel(), vol.ravel())[0, 1] > 0.995


def test_labels_use_nearest_and_keep_values() -> None:
    lab = np.zeros((33, 31, 29), dtype=np.uint8)
    lab[5:20, 4:18, 3:15] = 1
    lab[20:30, 10:25, 10:25] = 2
    res = resample_to_spacing(lab, (1.0, 1.0, 1.0), (1.7, 1.3, 0.9), kind="nearest")
    assert res.dtype == np.uint8 and set(np.unique(res)) == {0, 1, 2}
    back = inverse_resample(res, lab.shape, kind="nearest")
    assert back.shape == lab.shape
    assert (back == lab).mean() > 0.97


def test_resized_affine_places_voxel_centres_in_the_same_field_of_view() -> None:
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    affine[:3, 3] = [-10.0, 5.0, 7.0]
    new = resized_affine(affine, (10, 10, 10), (20, 5, 10))
    # first new voxel: half a new voxel inside the old field of view's edge (old edge at voxel -0.5)
    first = nib.affines.apply_affine(new, [0, 0, 0])
    edge = nib.affines.apply_affine(affine, [-0.5, -0.5, -0.5])
    np.testing.assert_allclose(first, edge + np.array([0.5, 2.0, 1.5]), atol=1e-9)
    np.testing.assert_allclose(np.abs(np.diag(new)[:3]), [1.0, 4.0, 3.0])


def test_slab_resize_equals_whole_resize_and_nearest_indexing_equals_torch() -> None:
    from medvlseg.data.resample import resize, resize_linear_slabs, resize_nearest

    rng = np.random.default_rng(0)
    for shape, new in (((3, 17, 13, 11), (40, 29, 31)), ((2, 30, 20, 10), (11, 7, 5)), ((1, 9, 8, 7), (9, 20, 7))):
        probs = rng.random(shape).astype(np.float32)
        whole = resize(probs, new, "linear")
        out = np.full(whole.shape, np.nan, dtype=np.float32)
        slabs = list(resize_linear_slabs(probs, new, max_bytes=4 * shape[0] * new[1] * new[2] * 3))  # 3 rows each
        assert len(slabs) == -(-new[0] // 3)
        for rows, slab in slabs:  # (rows, C, Y, Z) tensors
            out[:, rows] = slab.numpy().swapaxes(0, 1)
        np.testing.assert_allclose(out, whole, atol=1e-5)
        labels = rng.integers(0, 5, shape[1:]).astype(np.uint8)
        np.testing.assert_array_equal(resize_nearest(labels, new), resize(labels, new, "nearest"))
        np.testing.assert_array_equal(resize_nearest(labels > 2, new), resize(labels, new, "nearest") > 2)
