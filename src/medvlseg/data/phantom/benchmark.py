"""Write a phantom benchmark: images/, labels/, lungs/, previews/ and a `dataset.json` manifest with a
train/val/test split. Training holds few fully labelled and many half-labelled cases (seed 002: 79 of 718 full,
here ~1:8 at the preset's size); validation and test are fully labelled. Files go out in random orientations.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from medvlseg.data.phantom.generator import PhantomCase, generate_case
from medvlseg.data.phantom.presets import PhantomConfig, get_preset
from medvlseg.data.phantom.synth import synth_case
from medvlseg.data.phantom.synth_presets import SynthConfig
from medvlseg.errors import ConfigError

log = logging.getLogger(__name__)

LABELS = {"0": "background", "1": "pulmonary artery", "2": "pulmonary vein"}
BENCHMARK_MODALITIES = ("ct", "mri", "mixed")


@dataclass
class CasePlan:
    """What to generate for one case: name, split, seed, contrast phase and annotated side."""

    name: str
    split: str
    seed: int
    contrast: bool
    annotated: str  # "both", "left" or "right"
    modality: str = "ct"  # "ct" or "mri" (MRI-like, phantom.mri)
    phase: str | None = None  # engine only: contrast phase of this case (None: drawn by the engine config)


def case_modality(modality: str, index: int) -> str:
    """Modality of case `index`: "ct", "mri", or for "mixed" alternating CT (even) and MRI-like (odd)."""
    if modality not in BENCHMARK_MODALITIES:
        raise ConfigError(f"phantom modality must be one of {BENCHMARK_MODALITIES}, got {modality!r}")
    return ("ct", "mri")[index % 2] if modality == "mixed" else modality


def plan_cases(config: PhantomConfig, seed: int, modality: str = "ct") -> list[CasePlan]:
    """Deterministic per-case seeds, splits, contrast phases (≥ half non-contrast), annotated sides, modality."""
    rng = np.random.default_rng(seed)
    splits = ["training"] * config.n_train + ["validation"] * config.n_val + ["test"] * config.n_test
    n = len(splits)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]
    contrast = np.zeros(n, dtype=bool)
    start = 0
    for count in (config.n_train, config.n_val, config.n_test):  # stratified: ≤ half of every split
        fraction = getattr(config, "contrast_fraction", 0.0)  # engine configs draw their phase per case
        n_contrast = int(np.floor(min(fraction, 0.5) * count + rng.uniform()))
        contrast[start + rng.permutation(count)[: min(n_contrast, count // 2)]] = True
        start += count
    train_full = set(rng.permutation(config.n_train)[: config.n_train_full].tolist())
    plans = []
    for i, split in enumerate(splits):
        annotated = "both"
        if split == "training" and i not in train_full:
            annotated = "left" if rng.uniform() < 0.5 else "right"
        plans.append(CasePlan(f"case_{i:03d}", split, seeds[i], bool(contrast[i]), annotated,
                              case_modality(modality, i)))
    return plans


def annotate(case: PhantomCase, annotated: str) -> np.ndarray:
    """The 3-class label with the vessels of the non-annotated lung set to 0 (side from `case.side`)."""
    if annotated == "both":
        return case.label
    keep = 1 if annotated == "left" else 2
    return np.where(case.side == keep, case.label, 0).astype(np.uint8)


def save_volume(path: Path, array: np.ndarray, affine: np.ndarray, orientation: str, dtype: type) -> None:
    """Write a canonical RAS+ array (affine in mm) atomically as a file stored in `orientation` (e.g. "LPS")."""
    from medvlseg.io import write_image

    write_image(path, array, affine=affine, orientation=orientation, dtype=dtype)


def build_case(out_dir: Path, config: PhantomConfig | SynthConfig, plan: CasePlan, preview: bool) -> dict:
    """Generate and write one case; return its manifest entry (paths relative to out_dir)."""
    if isinstance(config, SynthConfig):  # the engine: phase, field of view, distractors drawn per case
        case = synth_case(config, plan.seed, contrast=plan.phase)
    else:
        case = generate_case(config, plan.seed, contrast=plan.contrast, modality=plan.modality)
    orient = case.meta["orientation"]
    image_rel, label_rel = f"images/{plan.name}.nii.gz", f"labels/{plan.name}.nii.gz"
    lung_rel = f"lungs/{plan.name}.nii.gz"
    save_volume(out_dir / image_rel, case.image, case.affine, orient, np.int16)
    save_volume(out_dir / label_rel, annotate(case, plan.annotated), case.affine, orient, np.uint8)
    save_volume(out_dir / lung_rel, case.lung, case.affine, orient, np.uint8)
    if preview:
        from medvlseg.data.phantom.preview import write_preview

        phase = case.meta.get("phase", plan.contrast)
        title = f"{plan.name} ({plan.split}, annotated={plan.annotated}, contrast={phase})"
        title += "" if plan.modality == "ct" else f" {plan.modality.upper()}-like"
        write_preview(out_dir / "previews" / f"{plan.name}.png", case.image, annotate(case, plan.annotated),
                      case.airway, case.spacing, title)
    meta = {k: v for k, v in case.meta.items() if k != "timing_s"}
    if isinstance(config, SynthConfig):
        from medvlseg.data.phantom.checks import contrast_gap

        meta["contrast_gap"] = {k: round(v, 1) for k, v in contrast_gap(case.image, case.label).items()}
    meta.update(spacing=list(case.spacing), shape=list(case.image.shape), lung_mask=lung_rel)
    return {"case": plan.name, "image": image_rel, "label": label_rel, "annotated": plan.annotated,
            "meta": meta, "_split": plan.split}


def write_benchmark(out_dir: str | Path, preset: str | PhantomConfig | SynthConfig = "small", seed: int = 0,
                    workers: int = 1, preview: bool | None = None, name: str | None = None,
                    modality: str = "ct") -> Path:
    """Generate every case of `preset` (a name or a config) into out_dir, write `dataset.json`, return its path.

    `modality`: "ct" (default), "mri" (MRI-like phantoms, pseudo-HU) or "mixed" (alternating); each non-CT case
    records `modality` in its manifest `meta` (CT cases and CT manifests are unchanged)."""
    from tqdm import tqdm

    config = get_preset(preset) if isinstance(preset, str) else preset
    name = name or (preset if isinstance(preset, str) else "custom")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    preview = config.preview if preview is None else preview
    plans = plan_cases(config, seed, modality)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(build_case, out_dir, config, p, preview) for p in plans]
            entries = [f.result() for f in tqdm(futures, desc="phantom", unit="case")]
    else:
        entries = [build_case(out_dir, config, p, preview) for p in tqdm(plans, desc="phantom", unit="case")]
    from medvlseg.io import Case, Manifest

    cases = [Case(name=e["case"], split=e["_split"], image=out_dir / e["image"], label=out_dir / e["label"],
                  annotated=e["annotated"], meta=e["meta"]) for e in entries]
    phantom = {"preset": name, "seed": seed, "config": asdict(config)}
    if isinstance(config, SynthConfig):
        phantom["engine"] = "synth"
    kind = {"ct": "CT", "mri": "MRI-like", "mixed": "CT+MRI-like"}[modality]
    if modality != "ct":
        phantom["modality"] = modality
    manifest = Manifest(cases=cases, name=f"phantom-{name}", labels=dict(LABELS), modality=kind,
                        description=f"synthetic chest {'CT' if modality == 'ct' else kind}, pulmonary artery/vein "
                                    f"phantom (preset {name}, seed {seed})",
                        extra={"phantom": phantom})
    path = manifest.save(out_dir / "dataset.json")
    if preview and isinstance(config, SynthConfig):
        from medvlseg.data.phantom.preview import write_gallery

        write_gallery(out_dir / "gallery.png", [(c.image, c.label, _gallery_title(c)) for c in cases])
    log.info("wrote %d phantom cases to %s", len(entries), out_dir)
    return path


def _gallery_title(case: object) -> str:
    """'case_000 arterial cta 1.9 mm' for the gallery."""
    meta = getattr(case, "meta", {})
    spacing = meta.get("spacing", [0.0])
    return f"{getattr(case, 'name', '')} {meta.get('phase', '')} {meta.get('fov', '')} {spacing[0]:.1f} mm"
