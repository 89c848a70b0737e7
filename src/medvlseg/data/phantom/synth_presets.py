"""Presets of the synthetic-data engine (`synth.synth_case`) and its fields of view.

Presets (same names as the classic benchmark presets, their own namespace: `--data phantom:NAME`, or
`medvlseg phantom --engine synth --preset NAME`):
- `tiny`: tests; heart-and-hila (CTA-like) crops at 2.6–3.2 mm, ≤ 64k voxels;
- `small`: CPU training and the demo's scale: every field of view, 1.5–3 mm in-plane, 1.5–4 mm slices;
- `paper`: GPU training (issue 16): every field of view, 0.6–1.6 mm in-plane, 0.6–3 mm slices, fine grid ×2.
Fields of view: `thorax` (whole chest), `cta` (heart and hila, like ../shared/data/real), `one_lung`, `bases`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from medvlseg.data.phantom.anatomy import Anatomy
from medvlseg.errors import ConfigError

FOVS = ("thorax", "cta", "one_lung", "bases")


@dataclass
class SynthConfig:
    """Ranges the engine draws one case from (mm, HU, probabilities); see module docstring for the presets."""

    spacing_xy: tuple[float, float] = (1.5, 3.0)  # in-plane voxel size range, mm
    spacing_z: tuple[float, float] = (1.5, 4.0)  # slice spacing range, mm
    thickness: tuple[float, float] = (1.0, 1.5)  # slice-profile FWHM / slice spacing
    fwhm_xy: tuple[float, float] = (0.6, 1.2)  # in-plane PSF FWHM, mm (added to the voxel's own partial volume)
    scale: tuple[float, float] = (0.85, 1.15)  # body size: small to large adult
    fov: tuple[str, ...] = FOVS  # fields of view drawn uniformly
    contrast: str = "mixed"  # none | arterial | venous | random | mixed
    distractor_rate: float = 0.3  # probability of each distractor kind per case
    artifact_rate: float = 0.25  # probability of bias field, streaks and breathing blur (each)
    low_dose_fraction: float = 0.2
    supersample: int = 2  # fine grid = output spacing / supersample (1 when the fine grid would be too big)
    max_fine_voxels: int = 40_000_000
    max_voxels: int = 2_000_000  # output cap: the spacing grows until the field of view fits
    radius_boost: float = 1.0
    stop_radius_mm: float = 0.35
    stop_radius_vox: float = 0.5
    max_points: int = 2000
    orientations: tuple[str, ...] = ("RAS", "LPS", "LAS", "RPS")
    n_train: int = 14
    n_val: int = 2
    n_test: int = 3
    n_train_full: int = 14
    preview: bool = False


SYNTH_PRESETS: dict[str, SynthConfig] = {
    "tiny": SynthConfig(spacing_xy=(2.6, 3.2), spacing_z=(2.6, 3.2), fov=("cta",), scale=(0.9, 1.0),
                        max_voxels=110_000, max_points=700, distractor_rate=0.0, artifact_rate=0.0,
                        n_train=3, n_val=1, n_test=1, n_train_full=3),
    "small": SynthConfig(max_voxels=800_000),
    "paper": SynthConfig(spacing_xy=(0.6, 1.6), spacing_z=(0.6, 3.0), max_voxels=40_000_000,
                         max_fine_voxels=120_000_000, max_points=6000, n_train=18, n_val=2, n_test=4,
                         n_train_full=18),
}


def get_synth_preset(name: str, **overrides: object) -> SynthConfig:
    """A copy of engine preset `name` with dataclass-field `overrides` applied."""
    if name not in SYNTH_PRESETS:
        raise ConfigError(f"unknown engine preset {name!r}; choose one of {sorted(SYNTH_PRESETS)}")
    names = {f.name for f in dataclasses.fields(SynthConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise ConfigError(f"unknown engine config keys: {sorted(unknown)}")
    bad = [f for f in overrides.get("fov", ()) if f not in FOVS]  # type: ignore[union-attr]
    if bad:
        raise ConfigError(f"unknown field of view {bad}; choose from {FOVS}")
    return dataclasses.replace(SYNTH_PRESETS[name], **overrides)  # type: ignore[arg-type]


def fov_box(fov: str, anat: Anatomy, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(centre, extent) in mm (world RAS+) of field of view `fov` for this chest, with ±4 % jitter."""
    s = anat.scale
    bx, by = anat.body_semi
    top = float(max(anat.lung_centre[:, 2] + anat.lung_semi[:, 2])) + 10 * s
    bottom = float(min(anat.dome)) - 50 * s
    if fov == "thorax":
        centre, extent = np.array([0.0, 0.0, (top + bottom) / 2]), np.array([2 * bx + 20, 2 * by + 20, top - bottom])
    elif fov == "cta":  # heart and hila, like the real CTA crop (183 x 153 x 168 mm)
        extent = np.array([183.0, 153.0, 168.0]) * s * rng.uniform(0.9, 1.2)
        centre = np.array([-5.0, 10.0, -15.0]) * s
    elif fov == "one_lung":
        k = int(rng.integers(2))
        edge = anat.lung_centre[k, 0] + (anat.lung_semi[k, 0] + 10 * s) * (1 if k else -1)
        mid = -25.0 * s if k else 25.0 * s  # include the midline and the hilum
        centre = np.array([(edge + mid) / 2, 0.0, (top + bottom) / 2])
        extent = np.array([abs(edge - mid), 2 * by + 20, top - bottom])
    elif fov == "bases":
        lo, hi = bottom, float(max(anat.dome)) + 90 * s
        centre, extent = np.array([0.0, 0.0, (lo + hi) / 2]), np.array([2 * bx + 20, 2 * by + 20, hi - lo])
    else:
        raise ConfigError(f"unknown field of view {fov!r}; choose from {FOVS}")
    return centre + rng.uniform(-0.04, 0.04, 3) * extent, extent
