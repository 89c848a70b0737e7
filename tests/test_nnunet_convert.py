"""nnU-Net v2 raw-dataset conversion: geometry kept, annotated vessels kept, the unannotated side of half-labeled
cases marked `ignore` (and nothing on the annotated side), dataset.json as nnU-Net expects it."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from medvlseg.experiments.nnunet import IGNORE, convert
from medvlseg.io import Manifest, read_image


def test_convert_tiny_benchmark(tiny_benchmark: Path, tmp_path: Path) -> None:
    out = convert(tiny_benchmark, tmp_path / "raw", dataset_id=7, name="Tiny")
    assert out.name == "Dataset007_Tiny"
    meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    cases = Manifest.load(tiny_benchmark).cases
    train = [c for c in cases if c.split == "training"]
    assert meta["numTraining"] == len(train) and meta["file_ending"] == ".nii.gz"
    assert meta["labels"] == {"background": 0, "artery": 1, "vein": 2, "ignore": 3}
    assert sorted(p.name for p in (out / "imagesTs").iterdir()) == sorted(
        f"{c.name}_0000.nii.gz" for c in cases if c.split == "test")
    halves = 0
    for case in train:
        img = nib.load(str(out / "imagesTr" / f"{case.name}_0000.nii.gz"))
        lab = nib.load(str(out / "labelsTr" / f"{case.name}.nii.gz"))
        assert img.shape == lab.shape and np.allclose(img.affine, lab.affine, atol=1e-5)
        converted = np.asarray(read_image(out / "labelsTr" / f"{case.name}.nii.gz").array)
        original = np.asarray(read_image(case.label).array)
        vessels = original > 0
        assert np.array_equal(converted[vessels], original[vessels])  # annotation untouched
        ignore = converted == IGNORE
        if case.annotated == "both":
            assert not ignore.any()
            continue
        halves += 1
        x = np.nonzero(ignore)[0]
        xv = np.nonzero(vessels)[0]
        # canonical RAS+: left is low axis 0; the ignored half lies on the other side of every annotated vessel
        if case.annotated == "left":
            assert x.min() > np.percentile(xv, 50)
        else:
            assert x.max() < np.percentile(xv, 50)
        assert 0.25 < ignore.mean() < 0.75
    assert halves >= 1
