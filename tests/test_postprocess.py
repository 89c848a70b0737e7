"""Component clean-up on the foreground voxels only equals the whole-array rule (cc3d labels, sizes in voxels,
touching a region), with the region given as an array or as a nearest lookup from a coarser grid."""

from __future__ import annotations

import cc3d
import numpy as np

from medvlseg.data.resample import nearest_lookup, resize_nearest
from medvlseg.infer.postprocess import postprocess_labels


def _reference(labels: np.ndarray, min_voxels: int, region: np.ndarray | None) -> np.ndarray:
    """The rule written plainly over the whole array."""
    comps = cc3d.connected_components(labels, connectivity=26)
    out = labels.copy()
    for c in range(1, int(comps.max()) + 1):
        part = comps == c
        if part.sum() < min_voxels or (region is not None and not region[part].any()):
            out[part] = 0
    return out


def test_foreground_only_cleanup_equals_whole_array_rule() -> None:
    rng = np.random.default_rng(0)
    labels = (rng.random((30, 26, 22)) < 0.08).astype(np.uint8) * rng.integers(1, 3, (30, 26, 22)).astype(np.uint8)
    labels[5:12, 4:10, 3:9] = 1  # one big component
    labels[20:25, 15:22, 12:20] = 2
    coarse = np.zeros((10, 9, 8), bool)
    coarse[6:9, 5:8, 4:7] = True  # holds the second block only
    region = resize_nearest(coarse, labels.shape)
    for min_voxels, reg in ((3, None), (1, region), (4, region)):
        want = _reference(labels, min_voxels, reg)
        got = postprocess_labels(labels, (1.0, 1.0, 1.0), float(min_voxels), reg)
        np.testing.assert_array_equal(got, want)
        if reg is not None:
            lookup = postprocess_labels(labels, (1.0, 1.0, 1.0), float(min_voxels),
                                        nearest_lookup(coarse, labels.shape))
            np.testing.assert_array_equal(lookup, want)
    assert 0 < (want > 0).sum() < (labels > 0).sum()  # the fixture keeps some components and drops others
