"""Convert a medvlseg manifest to an nnU-Net v2 raw dataset (Dataset<ID>_<name>), half-labeled cases included.

nnU-Net cannot know that a left-only case's right lung is unannotated; treating it as background is exactly the
naive 3-class mistake. nnU-Net v2's `ignore` label (the highest label value, excluded from its loss) expresses it:
every voxel on the unannotated side of the sagittal plane halfway between the two lungs' centroids (lung map of
the CT, medvlseg.data.lungs) becomes `ignore`, except voxels the annotation labels. Training cases go to
imagesTr/labelsTr (nnU-Net's own cross-validation is not used: train fold `all`), test cases to imagesTs.
Images keep their files' own geometry (copied when already .nii.gz); labels are written on that geometry.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from medvlseg.io import Manifest, read_image, write_image
from medvlseg.utils.atomic import write_json

log = logging.getLogger(__name__)

IGNORE = 3
LABELS = {"background": 0, "artery": 1, "vein": 2}


def ignore_side(hu: np.ndarray, spacing: tuple[float, ...], annotated: str, where: str) -> np.ndarray:
    """Boolean (X, Y, Z) canonical mask of the unannotated half-space (empty for `both`)."""
    from medvlseg.data.lungs import lung_map

    if annotated == "both":
        return np.zeros(hu.shape, dtype=bool)
    lungs = lung_map(hu, spacing, where=where)
    x = np.arange(hu.shape[0])
    centre = [float((x[:, None, None] * (lungs == s)).sum() / max((lungs == s).sum(), 1)) for s in (1, 2)]
    mid = 0.5 * (centre[0] + centre[1])  # canonical RAS+: the patient's left lung is at low axis-0 indices
    half = x > mid if annotated == "left" else x <= mid
    return np.broadcast_to(half[:, None, None], hu.shape).copy()


def convert(manifest: str | Path, raw_root: str | Path, dataset_id: int = 501, name: str = "PhantomAV") -> Path:
    """Write `<raw_root>/Dataset<ID>_<name>/` (imagesTr, labelsTr, imagesTs, dataset.json); returns that folder."""
    manifest = Manifest.load(manifest)
    out = Path(raw_root) / f"Dataset{dataset_id:03d}_{name}"
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    training, any_half = 0, False
    for case in manifest.cases:
        if case.split == "training" and case.label is not None:
            _copy_image(case.image, out / "imagesTr" / f"{case.name}_0000.nii.gz")
            any_half |= _write_label(case, out / "labelsTr" / f"{case.name}.nii.gz")
            training += 1
        elif case.split == "test":
            _copy_image(case.image, out / "imagesTs" / f"{case.name}_0000.nii.gz")
    labels = {**LABELS, "ignore": IGNORE} if any_half else dict(LABELS)
    write_json(out / "dataset.json", {"channel_names": {"0": "CT"}, "labels": labels, "numTraining": training,
                                      "file_ending": ".nii.gz", "name": name,
                                      "description": "medvlseg phantom benchmark (half-labeled sides = ignore)"})
    log.info("nnU-Net dataset %s: %d training cases (%s)", out, training, "with ignore" if any_half else "full")
    return out


def _copy_image(src: Path, dst: Path) -> None:
    """The image as NIfTI in its own geometry (a byte copy when it already is .nii.gz)."""
    if str(src).endswith(".nii.gz"):
        shutil.copyfile(src, dst)
        return
    vol = read_image(src)
    write_image(dst, vol.array, like=vol)


def _write_label(case, dst: Path) -> bool:  # type: ignore[no-untyped-def]
    """Write the 3-class label with the unannotated side set to IGNORE; True when the case is half-labeled."""
    image, label = read_image(case.image), read_image(case.label)
    labels = np.asarray(label.array).astype(np.uint8)
    ignore = ignore_side(np.asarray(image.array, dtype=np.float32), image.spacing, case.annotated, str(case.image))
    labels[ignore & (labels == 0)] = IGNORE
    write_image(dst, labels, like=image, dtype=np.uint8)
    return case.annotated != "both"
