"""Phantom configurations: one dataclass, three presets (`tiny` for tests, `small` for the demo, `paper`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from medvlseg.errors import ConfigError


@dataclass
class PhantomConfig:
    """Parameters of one synthetic chest CT and of the benchmark split built from it (lengths in mm)."""

    shape: tuple[int, int, int] = (80, 80, 72)  # canonical voxels (x: R, y: A, z: S)
    spacing_xy: tuple[float, float] = (2.3, 2.6)  # in-plane voxel size range, mm
    spacing_z: tuple[float, float] = (2.3, 2.8)  # slice spacing range, mm
    body_fill: float = 1.0  # body width / field-of-view width (> 1 crops the body at the sides)
    anatomy_scale: float | None = None  # 1.0 = adult; None = derived from the field of view and body_fill
    radius_boost: float = 1.4  # multiplies every tube radius (keeps small vessels visible at coarse spacing)
    stop_radius_vox: float = 0.55  # trees stop growing below this radius, in voxels of the finest axis
    stop_radius_mm: float = 0.35  # ... or below this radius in mm (CT resolution), whichever is larger
    max_points: int = 3000  # lung sample points per lung that drive volume-filling growth
    contrast_fraction: float = 0.4  # fraction of contrast-enhanced cases (≤ 0.5: most are non-contrast)
    low_dose_fraction: float = 0.2  # fraction of low-dose cases (noise σ 30–60 HU instead of 10–30)
    fwhm_xy: tuple[float, float] = (0.6, 1.2)  # in-plane blur FWHM range, mm
    fwhm_z_factor: tuple[float, float] = (1.0, 2.0)  # z blur FWHM / slice spacing
    crop_shift: float = 0.06  # random shift of the anatomy, fraction of the field of view
    orientations: tuple[str, ...] = ("RAS", "LPS", "LAS", "RPS")  # file orientations drawn per case
    n_train: int = 14
    n_val: int = 2
    n_test: int = 3
    n_train_full: int = 2  # fully labelled training cases; the rest are half-labelled (seed ratio ~1:8)
    preview: bool = True  # write PNG previews by default


PRESETS: dict[str, PhantomConfig] = {
    "tiny": PhantomConfig(
        shape=(48, 48, 40), spacing_xy=(2.1, 2.4), spacing_z=(2.4, 2.8), body_fill=1.0,
        radius_boost=1.5, max_points=700, n_train=3, n_val=1, n_test=1, n_train_full=1, preview=False,
    ),
    "small": PhantomConfig(),
    "paper": PhantomConfig(
        shape=(512, 512, 300), spacing_xy=(0.62, 0.78), spacing_z=(0.62, 1.25), body_fill=0.9,
        anatomy_scale=None, radius_boost=1.0, max_points=6000, crop_shift=0.04,
        n_train=18, n_val=2, n_test=4, n_train_full=2, preview=False,
    ),
}


def get_preset(name: str, **overrides: object) -> PhantomConfig:
    """Return a copy of preset `name` with dataclass-field `overrides` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown phantom preset {name!r}; choose one of {sorted(PRESETS)}")
    names = {f.name for f in dataclasses.fields(PhantomConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise ConfigError(f"unknown phantom config keys: {sorted(unknown)}")
    return dataclasses.replace(PRESETS[name], **overrides)  # type: ignore[arg-type]

