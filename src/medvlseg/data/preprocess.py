"""Preprocessing of one CT (and its label): resample → window → tubularity → lung map → 5-class label.

Contract (docs/architecture.md): channel 0 = HU windowed to [0, 1], channel 1 = tubularity in [0, 1] (when
enabled); lung map 0 outside, 1 left, 2 right; label 5-class. `invert_to_source` maps an array on the
resampled grid back to the volume's canonical grid (exact shape). Extension: with `lung_split` off, the lung
map is all zeros and vessel sides come from the canonical mid-sagittal plane (axis-0 centre).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from medvlseg.data.labels import annotated_flags, to_five_class
from medvlseg.data.lungs import LungSplitError, lung_regions
from medvlseg.data.resample import inverse_resample, resize, resize_image, resized_affine, resized_spacing, target_shape
from medvlseg.data.tubularity import tubularity
from medvlseg.data.window import window_hu
from medvlseg.errors import InputError
from medvlseg.io import Case, Volume, read_image

log = logging.getLogger(__name__)


@dataclass
class PreprocessConfig:
    """Preprocessing settings (HU, mm, voxels); serialised with medvlseg.utils.config."""

    window: tuple[float, float] = (-700.0, 300.0)  # HU clipped and scaled to [0, 1]
    target_spacing: tuple[float, float, float] | None = None  # mm; None keeps the canonical grid
    tubularity: bool = True  # add the Hessian vesselness channel
    sigmas_mm: tuple[float, ...] = (1.0, 2.0, 3.0)  # vesselness scales, mm
    tubularity_gamma: float = 0.1  # Frangi structuredness constant on the [0, 1] windowed image
    block_size: int = 128  # vesselness block edge, voxels (halo added)
    pyramid_min_vox: float | None = 1.5  # scales ≥ 2x this many voxels run on a decimated grid; null = off
    device: str = "cpu"  # torch device for the vesselness filter
    lung_split: bool = True  # compute the lung map (needed for left/right labels)
    lung_threshold_hu: float = -400.0  # air/lung threshold, HU
    airway_radius_mm: float = 10.0  # opening radius removing trachea and main bronchi, mm
    lung_work_mm: float = 2.0  # working voxel size of the lung segmentation, mm

    def __post_init__(self) -> None:
        """Reject values no preprocessing can use (ValueError, turned into ConfigError by from_dict)."""
        if not self.window[1] > self.window[0]:
            raise ValueError(f"window must be (low, high) HU with high > low, got {self.window}")
        if self.target_spacing is not None and (len(self.target_spacing) != 3 or min(self.target_spacing) <= 0):
            raise ValueError(f"target_spacing must be 3 positive mm values or null, got {self.target_spacing}")
        if not self.sigmas_mm or min(self.sigmas_mm) <= 0:
            raise ValueError(f"sigmas_mm must be positive, got {self.sigmas_mm}")
        if self.block_size < 8:
            raise ValueError(f"block_size must be ≥ 8 voxels, got {self.block_size}")


@dataclass
class PreprocessedImage:
    """Model input on the working grid and what `invert_to_source` needs to go back to the input grid."""

    image: np.ndarray  # (C, X, Y, Z) float32
    lung: np.ndarray  # (X, Y, Z) uint8: 0 outside, 1 left, 2 right
    spacing: tuple[float, float, float]  # working voxel size, mm
    affine: np.ndarray  # working grid voxel→world (RAS+ mm)
    source_shape: tuple[int, int, int]  # canonical input shape, voxels
    source_spacing: tuple[float, float, float]  # canonical input voxel size, mm
    source_affine: np.ndarray  # canonical input affine
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step


@dataclass
class PreprocessedCase(PreprocessedImage):
    """A preprocessed training case: image + 5-class label + annotated flags."""

    label: np.ndarray | None = None  # (X, Y, Z) uint8 5-class
    annotated: np.ndarray = field(default_factory=lambda: np.ones(4, dtype=bool))  # bool[4]
    name: str = ""
    split: str = ""


def _working_shape(shape: tuple[int, ...], spacing: tuple[float, ...], config: PreprocessConfig) -> tuple[int, ...]:
    """Voxel shape of the working grid (the canonical shape when no target spacing is set)."""
    if config.target_spacing is None:
        return tuple(shape)
    return target_shape(shape, spacing, config.target_spacing)


LUNG_SIDE_UNKNOWN = 3  # lung map value of lung voxels whose side could not be decided (predict only)


def preprocess_image(volume: Volume, config: PreprocessConfig, where: str = "image", sides_required: bool = True,
                     min_voxels: int = 2) -> PreprocessedImage:
    """Channels, lung map and inverse info of a canonical volume (`.array` HU, `.affine`, `.spacing` mm).

    `sides_required=False` (predict) accepts a lung whose side cannot be decided: its voxels get
    LUNG_SIDE_UNKNOWN in the lung map, with a warning. `min_voxels`: fewest working-grid voxels per axis.
    """
    from medvlseg.io.checks import check_extent

    hu = np.asarray(volume.array)
    if hu.ndim != 3 or min(hu.shape) < 2:
        raise InputError(where, f"expected a 3-D image, got shape {hu.shape}")
    spacing = tuple(float(s) for s in volume.spacing)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    shape = _working_shape(hu.shape, spacing, config)
    check_extent(shape, min_voxels, where)
    hu_w = resize_image(hu, shape)  # float32, slab by slab in the file's memory order: no full-size float copy
    work_spacing = resized_spacing(hu.shape, spacing, shape)
    times["resample"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    channels = [window_hu(hu_w, config.window)]
    times["window"] = time.perf_counter() - t0
    if config.tubularity:
        t0 = time.perf_counter()
        channels.append(tubularity(channels[0], work_spacing, config.sigmas_mm, config.block_size,
                                   gamma=config.tubularity_gamma, device=config.device,
                                   min_vox=config.pyramid_min_vox))
        times["tubularity"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lung = _lungs(hu_w, work_spacing, config, str(where), sides_required) if config.lung_split else \
        np.zeros(shape, dtype=np.uint8)
    times["lungs"] = time.perf_counter() - t0
    image = np.stack(channels)  # (C, X, Y, Z)
    affine = resized_affine(volume.affine, hu.shape, shape)
    source_affine = np.asarray(volume.affine, dtype=np.float64)
    return PreprocessedImage(image, lung, work_spacing, affine, tuple(hu.shape), spacing,  # type: ignore[arg-type]
                             source_affine, times)


def _lungs(hu: np.ndarray, spacing: tuple[float, ...], config: PreprocessConfig, where: str,
           sides_required: bool) -> np.ndarray:
    """Lung map (0 / 1 left / 2 right / LUNG_SIDE_UNKNOWN) on the working grid; InputError when none is in view."""
    try:
        found = lung_regions(hu, spacing, config.lung_threshold_hu, config.airway_radius_mm,
                             work_mm=config.lung_work_mm, where=where)
    except LungSplitError as exc:
        raise InputError(where, f"lung segmentation failed: {exc}") from exc
    if found.sides is not None:
        log.debug("%s: %s", where, found.how)
        return found.sides
    if sides_required:
        raise InputError(where, f"the lung's side (left/right) cannot be decided: {found.how}")
    log.warning("%s: lung side undecidable (%s); arteries and veins are predicted without sides", where, found.how)
    return (found.mask * LUNG_SIDE_UNKNOWN).astype(np.uint8)


def invert_to_source(array: np.ndarray, prep: PreprocessedImage, kind: str = "linear") -> np.ndarray:
    """Map a (X, Y, Z) or (C, X, Y, Z) array on the working grid back to the canonical input grid.

    kind "linear" for probabilities, "nearest" for label maps; the result has exactly `prep.source_shape`.
    """
    return inverse_resample(array, prep.source_shape, kind)


def _midline_sides(shape: tuple[int, ...]) -> np.ndarray:
    """Side map from the canonical mid-sagittal plane: 1 (left) below the axis-0 centre, 2 above."""
    side = np.full(shape, 2, dtype=np.uint8)
    side[: shape[0] // 2] = 1
    return side


def preprocess_case(case: Case, config: PreprocessConfig) -> PreprocessedCase:
    """Preprocess a manifest case: image + 5-class label (when the case has one); non-finite voxels refused."""
    from medvlseg.io.checks import checked_volume

    volume = checked_volume(read_image(case.image), case.image)
    prep = preprocess_image(volume, config, where=str(case.image))
    try:
        flags = annotated_flags(case.annotated)
    except ValueError as exc:
        raise InputError(case.image, str(exc)) from exc
    label5 = None
    if case.label is not None:
        t0 = time.perf_counter()
        lab = read_image(case.label)
        arr = np.asarray(lab.array)
        if arr.shape != prep.source_shape or not np.allclose(lab.affine, prep.source_affine, atol=1e-3):
            raise InputError(case.label, f"label grid {arr.shape} does not match the image grid {prep.source_shape}")
        arr3 = resize(np.rint(arr).astype(np.uint8), prep.image.shape[1:], "nearest")
        sides = prep.lung if config.lung_split else _midline_sides(arr3.shape)
        try:
            label5 = to_five_class(arr3, sides, prep.spacing)
        except ValueError as exc:
            raise InputError(case.label, str(exc)) from exc
        prep.timings["labels"] = time.perf_counter() - t0
    return PreprocessedCase(**vars(prep), label=label5, annotated=flags, name=case.name, split=case.split)
