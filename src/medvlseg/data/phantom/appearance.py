"""Per-scan appearance: a mean HU and a texture std for every tissue id, by contrast phase.

Phases (docs/phantom-engine.md for the sources of the ranges):
- `none`: one blood value N(42, 6) HU for every blood pool, arteries and veins alike (non-contrast CT);
- `arterial` (CT pulmonary angiography): right heart + pulmonary arteries 280–600 HU, SVC brighter still
  (undiluted contrast), left heart, pulmonary veins and aorta 60 HU up to 180 HU below the arteries;
- `venous` (systemic/portal-venous): both enhanced 120–220 HU, veins and left heart equal or up to 40 HU brighter;
- `random`: SynthSeg-style, every tissue's mean drawn independently in −1000..1000 HU, so only shape and
  context can tell tissues apart;
- `mixed` (a choice, not a phase): each case draws one of the above with `MIX` weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medvlseg.data.phantom import tissues as T

PHASES = ("none", "arterial", "venous", "random")
CONTRASTS = PHASES + ("mixed",)
MIX = {"none": 0.35, "arterial": 0.3, "venous": 0.15, "random": 0.2}


@dataclass
class Appearance:
    """Mean HU and texture std (HU) per tissue id, lung gradient/texture (HU), noise σ (HU), phase."""

    phase: str
    mean: np.ndarray  # (N_TISSUES,) float32
    std: np.ndarray  # (N_TISSUES,) float32
    lung_gradient: float  # front-to-back (gravity) increase, HU
    lung_texture: float  # low-frequency parenchyma texture amplitude, HU
    noise_sigma: float
    low_dose: bool

    def summary(self) -> dict:
        """JSON-able summary: phase and the HU of the labelled and neighbouring pools."""
        pick = {"artery": T.PULM_ARTERY, "vein": T.PULM_VEIN, "right_ventricle": T.RV, "left_atrium": T.LA,
                "aorta": T.AORTA, "lung": T.LUNG, "myocardium": T.MYOCARDIUM}
        return {"phase": self.phase, "low_dose": self.low_dose, "noise_sigma": round(self.noise_sigma, 2),
                **{k: round(float(self.mean[v]), 1) for k, v in pick.items()}}


def draw_phase(contrast: str, rng: np.random.Generator) -> str:
    """The phase of one case: `contrast` itself, or for "mixed" a draw with `MIX` weights."""
    if contrast not in CONTRASTS:
        raise ValueError(f"contrast must be one of {CONTRASTS}, got {contrast!r}")
    if contrast != "mixed":
        return contrast
    names = list(MIX)
    return names[int(rng.choice(len(names), p=np.array(list(MIX.values())) / sum(MIX.values())))]


def _base(rng: np.random.Generator) -> np.ndarray:
    """Non-contrast HU of every tissue (phantom-anatomy.md ranges)."""
    u = rng.uniform
    m = np.zeros(T.N_TISSUES, dtype=np.float32)
    blood = float(np.clip(rng.normal(42, 6), 28, 55))
    for tid in (*T.RIGHT_BLOOD, *T.LEFT_BLOOD, *T.SYSTEMIC_VEINS):
        m[tid] = blood
    m[T.AIR], m[T.FAT], m[T.MUSCLE] = -1000.0, np.clip(rng.normal(-100, 10), -130, -70), u(40, 60)
    m[T.CORTICAL], m[T.TRABECULAR], m[T.MARROW_CANAL] = u(700, 1200), u(150, 300), u(0, 20)
    m[T.LUNG], m[T.AIRWAY_LUMEN], m[T.AIRWAY_WALL] = np.clip(rng.normal(-850, 15), -890, -810), u(-1000, -950), u(0, 50)
    m[T.MYOCARDIUM], m[T.ESOPHAGUS], m[T.LIVER], m[T.ABDOMEN] = u(35, 55), u(30, 50), u(50, 70), u(20, 45)
    m[T.NODULE], m[T.GROUND_GLASS], m[T.CONSOLIDATION] = u(20, 60), u(-700, -450), u(20, 60)
    m[T.EFFUSION], m[T.CALCIFICATION], m[T.EMPHYSEMA] = u(0, 25), u(300, 1000), u(-990, -940)
    return m


def _enhance(m: np.ndarray, phase: str, rng: np.random.Generator) -> None:
    """Overwrite the blood pools (and enhancing organs) of the non-contrast table `m` for `phase`, in place."""
    u = rng.uniform
    if phase == "arterial":
        right = u(280, 600)
        left = u(60, max(right - 180.0, 100.0))
        m[list(T.RIGHT_BLOOD)] = right
        m[list(T.LEFT_BLOOD)] = left
        m[T.SVC], m[T.IVC], m[T.AZYGOS] = u(right, 1500), u(60, 150), u(60, 300)
        m[T.MYOCARDIUM] += u(20, 80)
        m[T.LIVER] += u(5, 25)
    elif phase == "venous":
        artery = u(120, 220)
        m[list(T.RIGHT_BLOOD)] = artery
        m[list(T.LEFT_BLOOD)] = artery + u(0, 40)
        m[list(T.SYSTEMIC_VEINS)] = u(120, 200)
        m[T.MYOCARDIUM] += u(40, 80)
        m[T.LIVER] += u(40, 70)
    elif phase == "random":
        m[:] = rng.uniform(-1000, 1000, T.N_TISSUES)


def draw_appearance(phase: str, low_dose_fraction: float, rng: np.random.Generator) -> Appearance:
    """Draw one scan's tissue table for `phase` (HU)."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    mean = _base(rng)
    _enhance(mean, phase, rng)
    std = rng.uniform(0.0, 12.0, T.N_TISSUES).astype(np.float32)  # within-tissue texture
    std[T.LUNG] = rng.uniform(10, 30)  # fine parenchyma texture on top of the low-frequency one
    if phase == "random":
        std[:] = rng.uniform(0.0, 40.0, T.N_TISSUES)
    low_dose = bool(rng.uniform() < low_dose_fraction)
    return Appearance(phase=phase, mean=mean, std=std, lung_gradient=float(rng.uniform(50, 150)),
                      lung_texture=float(rng.uniform(20, 40)), low_dose=low_dose,
                      noise_sigma=float(rng.uniform(30, 60) if low_dose else rng.uniform(10, 30)))
