"""MRI-like modality of the phantom (seed 004): the same anatomy with a bright-blood MR-style tissue→signal
mapping (non-monotonic in HU: fat and blood brightest, marrow above muscle, cortical bone below it, lung
parenchyma grey-dark instead of black), a smooth multiplicative bias field and Rician (magnitude) noise.

Storage: the signal s in [0, 1] is written as int16 pseudo-HU −1000 + 1300 s, so the unchanged pipeline reads it:
the CT window −700..300 HU shows s ≥ 0.23, and the classical lung split (air/lung below −400 HU, outside air
below −950 HU on average) still finds the lungs, because every body tissue is drawn with s ≥ 0.6, lung with
s ≤ 0.3, background air near 0 (low Rician floor) and the bias field is kept weak. Case meta: `modality: "mri"`.
"""

from __future__ import annotations

import numpy as np

from medvlseg.data.phantom.intensity import smooth_field

OFFSET, SCALE = -1000.0, 1300.0  # pseudo-HU = OFFSET + SCALE * signal
MODALITIES = ("ct", "mri")


def to_pseudo_hu(signal: float) -> float:
    """MR signal in [0, 1] → stored pseudo-HU."""
    return OFFSET + SCALE * signal


def draw_signal(rng: np.random.Generator) -> dict[str, float]:
    """Per-scan MR-like tissue signals in [0, 1] (unitless), keyed like `intensity.draw_hu`."""
    blood = float(rng.uniform(0.8, 0.95))
    return {
        "air": 0.0, "lung": float(rng.uniform(0.22, 0.27)), "lung_gradient": float(rng.uniform(0.01, 0.03)),
        "lung_texture": float(rng.uniform(0.01, 0.02)), "airway_lumen": 0.0,
        "airway_wall": float(rng.uniform(0.6, 0.65)), "fat": float(rng.uniform(0.9, 0.97)),
        "muscle": float(rng.uniform(0.66, 0.72)), "trabecular": float(rng.uniform(0.76, 0.82)),
        "cortical": float(rng.uniform(0.6, 0.63)), "artery": blood,
        "vein": float(np.clip(blood + rng.normal(0, 0.03), 0.75, 1.0)),
        "noise_sigma": float(rng.uniform(0.006, 0.016)), "bias_strength": float(rng.uniform(0.04, 0.08)),
    }


def signal_table(signal: dict[str, float]) -> dict[str, float]:
    """The renderer's intensity table in pseudo-HU (gradient/texture amplitudes scale without the offset)."""
    out = {k: to_pseudo_hu(v) for k, v in signal.items() if k not in ("noise_sigma", "bias_strength")}
    for key in ("lung_gradient", "lung_texture"):
        out[key] = SCALE * signal[key]
    return out


def bias_and_rician(image: np.ndarray, spacing: np.ndarray, signal: dict[str, float],
                    rng: np.random.Generator) -> np.ndarray:
    """Blurred pseudo-HU image → signal × exp(bias field) with Rician noise σ, back in pseudo-HU (float32)."""
    s = np.clip((image - OFFSET) / SCALE, 0.0, None)
    bias = np.exp(signal["bias_strength"] * smooth_field(image.shape, spacing, 60.0, rng))
    s = s * bias
    sigma = signal["noise_sigma"]
    real = s + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return (OFFSET + SCALE * np.sqrt(real * real + imag * imag)).astype(np.float32)
