"""nnU-Net v2 raw datasets (Dataset<ID>_<name>) to and from medvlseg manifests, half-labeled cases included.

Export (`convert`, used by experiments/nnunet):
nnU-Net cannot know that a left-only case's right lung is unannotated; treating it as background is exactly the
naive 3-class mistake. nnU-Net v2's `ignore` label (the highest label value, excluded from its loss) expresses it:
every voxel on the unannotated side of the sagittal plane halfway between the two lungs' centroids (lung map of
the CT, medvlseg.data.lungs) becomes `ignore`, except voxels the annotation labels. Training cases go to
imagesTr/labelsTr (nnU-Net's own cross-validation is not used: train fold `all`), test cases to imagesTs.
Images keep their files' own geometry (copied when already .nii.gz); labels are written on that geometry.

Import (`import_dataset`, `medvlseg import-nnunet`): the inverse. dataset.json's `channel_names` (one CT channel),
`labels` (names mapped by meaning: artery, vein, ignore; region-based labels are rejected) and `file_ending` are
read; imagesTr + labelsTr become the training split (the last `validation` cases by name the validation split),
imagesTs (+ labelsTs when present) the test split. Image files are referenced in place. A label file is rewritten
(into OUT_DIR/labels/, its own geometry) only when its values need remapping to 1 artery / 2 vein or it holds
`ignore` voxels: a case whose ignore label covers most of one lung (lung map of the CT) and little of the other
becomes half-labeled on the other side, ignore voxels becoming background. Bad cases are skipped and reported.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medvlseg.errors import InputError
from medvlseg.io import SPLITS, Case, Manifest, case_name, image_ext, read_image, write_image
from medvlseg.utils.atomic import write_json

log = logging.getLogger(__name__)

IGNORE = 3
LABELS = {"background": 0, "artery": 1, "vein": 2}
CHANNEL_SUFFIX = "_0000"  # nnU-Net v2 image file = <case>_<4-digit channel><file_ending>
SIDE_COVERED = 0.5  # a lung counts as ignored when at least this fraction of its voxels is `ignore`
SIDE_CLEAR = 0.05  # ... and as annotated when at most this fraction is


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
            _copy_image(case.image, out / "imagesTr" / f"{case.name}{CHANNEL_SUFFIX}.nii.gz")
            any_half |= _write_label(case, out / "labelsTr" / f"{case.name}.nii.gz")
            training += 1
        elif case.split == "test":
            _copy_image(case.image, out / "imagesTs" / f"{case.name}{CHANNEL_SUFFIX}.nii.gz")
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


@dataclass
class ImportReport:
    """What `import_dataset` did: the manifest written, cases per split, half-labeled cases, skipped cases."""

    manifest: Path
    splits: dict[str, int] = field(default_factory=dict)
    half_labeled: dict[str, str] = field(default_factory=dict)  # case → annotated side
    failed: dict[str, str] = field(default_factory=dict)  # case → reason


def label_kind(name: str) -> str | None:
    """'background', 'artery', 'vein', 'ignore' or None for an nnU-Net label name."""
    lower = name.lower()
    if lower in ("background", "ignore"):
        return lower
    return "artery" if "arter" in lower else "vein" if ("vein" in lower or "venous" in lower) else None


def read_dataset_json(folder: Path) -> tuple[str, dict[int, int], int | None, str]:
    """(file ending, {nnU-Net value: medvlseg value}, ignore value or None, CT channel suffix) of a raw dataset."""
    path = folder / "dataset.json"
    if not path.is_file():
        raise InputError(path, "not found: is this an nnU-Net v2 raw dataset folder (Dataset<ID>_<name>)?")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read: {exc}") from exc
    channels = meta.get("channel_names") or meta.get("modality")
    if not isinstance(channels, dict) or not channels:
        raise InputError(path, "no channel_names")
    ct = [k for k, v in channels.items() if str(v).lower() == "ct"] or (list(channels) if len(channels) == 1 else [])
    if len(ct) != 1:
        raise InputError(path, f"need exactly one CT channel, channel_names = {channels}")
    labels = meta.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise InputError(path, "no labels")
    mapping: dict[int, int] = {}
    ignore = None
    for name, value in labels.items():
        if not isinstance(value, int):
            raise InputError(path, f"label {name!r} = {value!r}: region-based labels are not supported")
        kind = label_kind(name)
        if kind is None:
            raise InputError(path, f"label {name!r} is neither background, an artery, a vein nor ignore")
        if kind == "ignore":
            ignore = value
        else:
            mapping[value] = LABELS[kind]
    ending = str(meta.get("file_ending", ".nii.gz"))
    if not image_ext(f"x{ending}"):
        raise InputError(path, f"file_ending {ending!r} is not a 3-D image format medvlseg reads")
    return ending, mapping, ignore, f"_{int(ct[0]):04d}"


def annotated_side(ignore: np.ndarray, hu: np.ndarray, spacing: tuple[float, ...], where: str) -> str:
    """'both', 'left' or 'right' from the ignore mask's cover of each lung; InputError when neither fits."""
    from medvlseg.data.lungs import LungSplitError, lung_map

    if not ignore.any():
        return "both"
    try:
        lungs = lung_map(hu, spacing, where=where)
    except LungSplitError as exc:
        raise InputError(where, f"ignore label present but the lungs cannot be found: {exc}") from exc
    cover = [float(ignore[lungs == s].mean()) for s in (1, 2)]  # 1 left, 2 right
    if cover[1] >= SIDE_COVERED and cover[0] <= SIDE_CLEAR:
        return "left"
    if cover[0] >= SIDE_COVERED and cover[1] <= SIDE_CLEAR:
        return "right"
    raise InputError(where, f"ignore label covers {cover[0]:.0%} of the left and {cover[1]:.0%} of the right lung: "
                            "not one unannotated lung")


def _import_case(image: Path, label: Path | None, mapping: dict[int, int], ignore: int | None,
                 label_dir: Path) -> tuple[Path | None, str]:
    """(label path for the manifest, annotated side) of one case; rewrites the label when it needs remapping."""
    if label is None:
        return None, "both"
    lab = read_image(label)
    values = np.asarray(lab.array)
    known = set(mapping) | ({ignore} if ignore is not None else set())
    unknown = sorted(set(np.unique(values).astype(int).tolist()) - known)
    if unknown:
        raise InputError(label, f"label values {unknown} are not in dataset.json's labels")
    ign = values == ignore if ignore is not None else np.zeros(values.shape, dtype=bool)
    side = "both"
    if ign.any():
        img = read_image(image)
        if img.shape != lab.shape or not np.allclose(img.affine, lab.affine, atol=1e-3):
            raise InputError(label, f"label grid {lab.shape} does not match the image grid {img.shape}")
        side = annotated_side(ign, np.asarray(img.array, dtype=np.float32), img.spacing, str(label))
    if not ign.any() and all(k == v for k, v in mapping.items()):
        return label, side
    lut = np.zeros(max(known) + 1, dtype=np.uint8)
    for k, v in mapping.items():
        lut[k] = v
    out = label_dir / f"{case_name(label)}.nii.gz"
    write_image(out, lut[values.astype(np.intp)], like=lab, dtype=np.uint8)
    return out, side


def import_dataset(folder: str | Path, out: str | Path, validation: int = 0, progress: bool = True) -> ImportReport:
    """Write a medvlseg manifest `out` for an nnU-Net v2 raw dataset folder; bad cases are skipped and reported."""
    from tqdm import tqdm

    folder, out = Path(folder), Path(out)
    ending, mapping, ignore, suffix = read_dataset_json(folder)
    if not (folder / "imagesTr").is_dir() and not (folder / "imagesTs").is_dir():
        raise InputError(folder, "no imagesTr or imagesTs folder")
    jobs = []
    for images, labels, split in (("imagesTr", "labelsTr", "training"), ("imagesTs", "labelsTs", "test")):
        for image in sorted((folder / images).glob(f"*{suffix}{ending}")):
            name = image.name[: -len(suffix + ending)]
            label = folder / labels / f"{name}{ending}"
            jobs.append((name, split, image, label if label.is_file() else None))
    report = ImportReport(out)
    manifest = Manifest(name=folder.name, description=f"imported from nnU-Net v2 raw dataset {folder}", path=out)
    for name, split, image, label in tqdm(jobs, desc="import", unit="case", disable=not progress):
        if split == "training" and label is None:
            report.failed[name] = f"{folder / 'labelsTr' / (name + ending)}: label file missing"
            continue
        try:
            lab_path, side = _import_case(image, label, mapping, ignore, out.parent / "labels")
        except (InputError, OSError, ValueError) as exc:
            report.failed[name] = str(exc)
            continue
        if side != "both":
            report.half_labeled[name] = side
        manifest.cases.append(Case(name, split, image.resolve(), lab_path.resolve() if lab_path else None, side))
    training = [c for c in manifest.cases if c.split == "training"]
    for case in training[len(training) - validation:] if validation else []:
        case.split = "validation"
    report.splits = {s: len(manifest.split(s)) for s in SPLITS}
    manifest.save(out)
    log.info("manifest %s: %s; %d half-labeled, %d skipped", out, report.splits, len(report.half_labeled),
             len(report.failed))
    return report
