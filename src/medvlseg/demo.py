"""The whole pipeline, as `make demo` runs it: the shipped default model predicts the phantoms' test split and a
coarse whole-thorax CT, is fine-tuned on the phantoms' training split (`train --init default`) for a few
minutes, and predicts again; OUT/report.md holds the before/after metrics, the curve and the pictures.

Each stage reuses what an earlier (interrupted) demo left in OUT: the phantom set is skipped when present,
fine-tuning resumes from `run/last`, predictions and evaluations are redone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medvlseg.utils.atomic import write_text

log = logging.getLogger(__name__)

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


@dataclass
class DemoResult:
    """Paths and timings of a demo run (seconds per stage); summaries before and after fine-tuning."""

    report: Path
    summary: dict  # after fine-tuning
    before: dict
    timings: dict[str, float] = field(default_factory=dict)


def whole_thorax_case(out: Path, seed: int = 4, spacing_mm: float = 4.0) -> tuple[Path, np.ndarray, np.ndarray]:
    """A whole-thorax non-contrast engine CT at `spacing_mm` written to OUT/ct.nii.gz; (path, label, lung map)."""
    from medvlseg.data.phantom.synth import synth_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset
    from medvlseg.io import write_image

    cfg = get_synth_preset("small", contrast="none", fov=("thorax",), spacing_xy=(spacing_mm, spacing_mm),
                           spacing_z=(spacing_mm, spacing_mm), orientations=("RAS",))
    case = synth_case(cfg, seed)
    path = out / "ct.nii.gz"
    write_image(path, case.image, affine=case.affine, orientation="RAS", dtype=np.int16)
    return path, case.label, case.lung


def lung_presence(pred: np.ndarray, lung: np.ndarray) -> dict[str, dict[str, int]]:
    """Voxels of each class (1 artery, 2 vein) inside each lung (lung map 1 left, 2 right)."""
    return {side: {name: int(((pred == c) & (lung == s)).sum()) for c, name in ((1, "artery"), (2, "vein"))}
            for s, side in ((1, "left"), (2, "right"))}


def _train_config(config_path: Path | None, epochs: int | None, model: str):  # type: ignore[no-untyped-def]
    """Fine-tuning config: the initial model's config.yaml, overridden by configs/demo.yaml (or `config_path`)."""
    import yaml

    from medvlseg.models.zoo import resolve_model
    from medvlseg.train.run_folder import read_config
    from medvlseg.utils.config import override

    base = read_config(resolve_model(model))
    path = config_path or DEMO_CONFIG
    changes = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    changes = {"init": model, **changes, "data": ""}
    if epochs:
        changes["epochs"] = epochs
    return override(base, **changes)


def _predict_all(run: Path, manifest: Path, thorax: Path, out: Path, progress: bool) -> tuple[dict, np.ndarray]:
    """Predict the test split and the thorax CT with model folder `run`; (evaluation summary, thorax labels)."""
    from medvlseg.eval.evaluate import evaluate, write_outputs
    from medvlseg.infer.batch import collect_inputs, run_batch
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.io import read_image

    predictor = Predictor.from_run(run, PredictOptions(fast=True))  # the model's own 2 mm grid, overlap 0.25
    pred_dir = out / "predictions"
    batch = run_batch(predictor.predict_file, collect_inputs(manifest, "test"), pred_dir, overwrite=True,
                      progress=progress)
    if batch.failed:
        log.error("failed predictions: %s", sorted(batch.failed))
    predictor.predict_file(thorax, out / "thorax.nii.gz")
    evaluation = evaluate(pred_dir, None, manifest, split="test", progress=progress)
    write_outputs(out / "evaluation", evaluation, {"pred": str(pred_dir), "manifest": str(manifest), "classes": 3,
                                                   "split": "test", "nsd_tolerance_mm": 1.0})
    return evaluation.summary, read_image(out / "thorax.nii.gz").array


def _overlays(manifest: Path, pred_dir: Path, out_dir: Path) -> list[Path]:
    """One PNG per test case: prediction row over ground-truth row (axial, coronal, sagittal, MIP)."""
    from medvlseg.eval.figures import save_overlay_png
    from medvlseg.io import Manifest, read_image

    pngs = []
    for case in Manifest.load(manifest).split("test"):
        pred_path = pred_dir / f"{case.name}.nii.gz"
        if not pred_path.is_file() or case.label is None:
            continue
        ct, pred, gt = read_image(case.image), read_image(pred_path), read_image(case.label)
        pngs.append(save_overlay_png(out_dir / f"{case.name}.png", ct.array, pred.array, ct.spacing,
                                     f"{case.name}: fine-tuned prediction vs ground truth", gt=gt.array))
    return pngs


def before_after_table(before: dict, after: dict) -> str:
    """Markdown: Dice / clDice / HD95 per class, default model vs fine-tuned."""
    lines = ["| class | model | Dice | clDice | HD95 (mm) |", "|---|---|---|---|---|"]
    for name in after:
        for label, summary in (("default (before)", before), ("fine-tuned (after)", after)):
            cells = [summary.get(name, {}).get(m, {}).get("mean") for m in ("dice", "cldice", "hd95")]
            lines.append(f"| {name} | {label} | " + " | ".join("n/a" if v is None else f"{v:.3f}" for v in cells)
                         + " |")
    return "\n".join(lines)


def _presence_text(presence: dict) -> str:
    """'left lung: artery N, vein M voxels; right lung: ...'."""
    return "; ".join(f"{side} lung: artery {p['artery']}, vein {p['vein']} voxels" for side, p in presence.items())


def run_demo(out: str | Path, config_path: Path | None = None, epochs: int | None = None, preset: str = "small",
             workers: int = 2, progress: bool = True, model: str = "default") -> DemoResult:
    """Run every stage into `out`; returns the report path, summaries before/after and stage timings."""
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.eval.curves import plot_training_log
    from medvlseg.eval.figures import save_overlay_png
    from medvlseg.io import read_image
    from medvlseg.models.zoo import resolve_model
    from medvlseg.train.run_folder import read_config
    from medvlseg.train.trainer import Trainer

    out = Path(out)
    timings: dict[str, float] = {}
    manifest = out / "phantoms" / "dataset.json"
    t0 = time.perf_counter()
    if not manifest.is_file():
        write_benchmark(out / "phantoms", preset, seed=0, workers=workers)
    (out / "thorax").mkdir(parents=True, exist_ok=True)
    thorax, _, lung = whole_thorax_case(out / "thorax")
    timings["phantoms"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    before, thorax_before = _predict_all(resolve_model(model), manifest, thorax, out / "before", progress)
    timings["predict (default model)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = out / "run"
    resume = (run / "last.json").is_file()
    config = read_config(run) if resume else _train_config(config_path, epochs, model)
    result = Trainer(config, manifest, run, resume=resume, progress=progress).fit()
    timings["fine-tune"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    after, thorax_after = _predict_all(run, manifest, thorax, out / "after", progress)
    timings["predict (fine-tuned)"] = time.perf_counter() - t0
    figures = out / "figures"
    curve = plot_training_log(run / "log.csv", figures / "training.png", f"fine-tuning {model} on {preset} phantoms")
    pngs = _overlays(manifest, out / "after" / "predictions", figures)
    ct = read_image(thorax)
    pngs.append(save_overlay_png(figures / "thorax.png", ct.array, thorax_before, ct.spacing,
                                 "whole thorax, non-contrast, 4 mm: default model (top) vs fine-tuned (bottom)",
                                 gt=thorax_after))
    presence = {"before": lung_presence(thorax_before, lung), "after": lung_presence(thorax_after, lung)}
    info = (f"`train --init {model}`: {config.epochs} epochs × {config.steps_per_epoch} steps, patch "
            f"{config.patch_size}³, batch {config.batch_size}, lr {config.lr}; best validation Dice "
            f"{result.best_dice:.3f} at epoch {result.best_epoch}" if result.best_epoch > 0 else "no validation")
    lines = ["# medvlseg demo: the shipped default model, then fine-tuned on your (here: phantom) data", "",
             f"1. `medvlseg predict --fast` with no `-m` (the shipped `{model}` model) on the `{preset}` phantoms' test split "
             "and a whole-thorax non-contrast engine CT at 4 mm;",
             f"2. `medvlseg train --init {model}` on the phantoms' training split (fully and half-labeled cases);",
             "3. the same predictions with the fine-tuned run. Test cases were never seen in training.", "",
             "## Test split before / after fine-tuning (mean over cases; HD95 in mm)", "",
             before_after_table(before, after), "", f"Fine-tuning: {info}.", "",
             "## Whole-thorax non-contrast CT at 4 mm", "",
             f"Default model: {_presence_text(presence['before'])}.  ",
             f"Fine-tuned: {_presence_text(presence['after'])}.", "",
             "## Time per stage (seconds)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    lines += ["", "## Fine-tuning curve", "", f"![training]({curve.relative_to(out)})", "",
              "## Pictures (arteries red, veins blue)", ""]
    lines += [f"![{p.stem}]({p.relative_to(out)})" for p in pngs]
    path = out / "report.md"
    write_text(path, "\n".join(lines) + "\n")
    return DemoResult(path, after, before, timings)
