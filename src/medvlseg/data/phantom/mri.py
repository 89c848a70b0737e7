"""MRI-like modality of the phantom (seed 004): the same anatomy with a bright-blood MR-style tissue→signal
mapping (non-monotonic in HU: fat and blood bright, muscle grey, cortical bone, lung and air dark), a smooth
multiplicative bias field and Rician (magnitude) noise.

Storage: the signal s in [0, 1] is written as int16 pseudo-HU −700 + 1000 s, so the CT window −700..300 HU of
the preprocessing maps it back to s without changes to the pipeline. Case meta records `modality: "mri"`.
"""

from __future__ import annotations

import numpy as np

from medvlseg.data.phantom.intensity import smooth_field

OFFSET, SCALE = -700.0, 1000.0  # pseudo-HU = OFFSET + SCALE * signal
MODALITIES = ("ct", "mri")


def to_pseudo_hu(signal: float) -> float:
    """MR signal in [0, 1] → stored pseudo-HU."""
    return OFFSET + SCALE * signal


def draw_signal(rng: np.random.Generator) -> dict[str, float]:
    """Per-scan MR-like tissue signals in [0, 1] (unitless), keyed like `intensity.draw_hu`."""
    blood = float(rng.uniform(0.65, 0.95))
    return {
        "air": 0.0, "lung": float(rng.uniform(0.03, 0.08)), "lung_gradient": float(rng.uniform(0.01, 0.04)),
        "lung_texture": float(rng.uniform(0.005, 0.015)), "airway_lumen": 0.0,
        "airway_wall": float(rng.uniform(0.2, 0.3)), "fat": float(rng.uniform(0.8, 0.95)),
        "muscle": float(rng.uniform(0.25, 0.35)), "trabecular": float(rng.uniform(0.55, 0.7)),
        "cortical": float(rng.uniform(0.02, 0.05)), "artery": blood, "vein": float(np.clip(blood + rng.normal(0, 0.05),
                                                                                           0.55, 1.0)),
        "noise_sigma": float(rng.uniform(0.02, 0.05)), "bias_strength": float(rng.uniform(0.1, 0.25)),
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
