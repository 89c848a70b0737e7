"""The whole pipeline on phantoms, as `make demo` runs it: phantom → preprocess → train → predict → evaluate → report.

Each stage reuses what an earlier (interrupted) demo left in OUT: the phantom set and cache are skipped when
up to date, training resumes from `run/last`, prediction and evaluation are redone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from medvlseg.utils.atomic import write_text

log = logging.getLogger(__name__)

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


@dataclass
class DemoResult:
    """Paths and timings of a demo run (seconds per stage)."""

    report: Path
    summary: dict
    timings: dict[str, float] = field(default_factory=dict)


def _train_config(config_path: Path | None, epochs: int | None):  # type: ignore[no-untyped-def]
    """The demo's TrainConfig: configs/demo.yaml (or `config_path`), epochs optionally overridden."""
    from medvlseg.train.config import TrainConfig
    from medvlseg.utils.config import load, override

    path = config_path or DEMO_CONFIG
    config = load(TrainConfig, path) if path.is_file() else TrainConfig(
        preset="lacaf", light=True, patch_size=48, batch_size=2, epochs=32, steps_per_epoch=25, val_every=4)
    return override(config, epochs=epochs) if epochs else config


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
                                     f"{case.name}: prediction vs ground truth", gt=gt.array))
    return pngs


def _report(out: Path, summary: dict, timings: dict[str, float], pngs: list[Path], curve: Path, cfg_text: str,
            train_info: str, preset: str) -> Path:
    """Write OUT/report.md: metrics table, timings, training curve and overlays."""
    from medvlseg.eval.report import summary_table

    lines = ["# medvlseg demo: pulmonary artery/vein segmentation on synthetic chest CT", "",
             f"Pipeline: `medvlseg phantom --preset {preset}` → `preprocess` → `train` (light LACAF) → `predict` "
             "(test split) → `evaluate`. Test cases were never seen in training.", "",
             "## Test-set metrics (mean ± std over test cases; NSD at 1 mm; HD95/ASD in mm)", "",
             summary_table(summary), "", f"Training: {train_info}", "",
             "## Time per stage (2 CPU cores)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in timings.items()]
    lines += ["", "## Training curve", "", f"![training]({curve.relative_to(out)})", "",
              "## Test cases (top: prediction, bottom: ground truth; arteries red, veins blue)", ""]
    lines += [f"![{p.stem}]({p.relative_to(out)})" for p in pngs]
    lines += ["", "## Training config", "", "```yaml", cfg_text.rstrip(), "```", ""]
    path = out / "report.md"
    write_text(path, "\n".join(lines))
    return path


def run_demo(out: str | Path, config_path: Path | None = None, epochs: int | None = None, preset: str = "small",
             workers: int = 2, progress: bool = True) -> DemoResult:
    """Run every stage into `out`; returns the report path, the evaluation summary and stage timings."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.eval.curves import plot_training_log
    from medvlseg.eval.evaluate import evaluate, write_outputs
    from medvlseg.infer.batch import collect_inputs, run_batch
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.train.run_folder import CONFIG_FILE, read_config
    from medvlseg.train.trainer import Trainer

    out = Path(out)
    timings: dict[str, float] = {}
    manifest = out / "phantoms" / "dataset.json"
    t0 = time.perf_counter()
    if not manifest.is_file():
        write_benchmark(out / "phantoms", preset, seed=0, workers=workers)
    timings["phantom"] = time.perf_counter() - t0
    config = _train_config(config_path, epochs)
    t0 = time.perf_counter()
    cache = out / "cache"
    report = build_cache(manifest, cache, config.preprocess, workers=workers, progress=progress)
    if report.failed:
        log.error("preprocessing failed for %s", sorted(report.failed))
    timings["preprocess"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = out / "run"
    resume = (run / "last.json").is_file()
    if resume:
        config = read_config(run)
    result = Trainer(config, cache, run, resume=resume, progress=progress).fit()
    timings["train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictor = Predictor.from_run(run, PredictOptions())
    pred_dir = out / "predictions"
    batch = run_batch(predictor.predict_file, collect_inputs(manifest, "test"), pred_dir, overwrite=True,
                      progress=progress)
    timings["predict"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluation = evaluate(pred_dir, None, manifest, split="test", progress=progress)
    write_outputs(out / "evaluation", evaluation, {"pred": str(pred_dir), "manifest": str(manifest), "classes": 3,
                                                   "split": "test", "nsd_tolerance_mm": 1.0})
    timings["evaluate"] = time.perf_counter() - t0
    figures = out / "figures"
    curve = plot_training_log(run / "log.csv", figures / "training.png", f"{config.preset} on {preset} phantoms")
    pngs = _overlays(manifest, pred_dir, figures)
    best = f"{result.best_dice:.3f}" if result.best_epoch > 0 else "n/a"
    info = (f"{config.epochs} epochs × {config.steps_per_epoch} steps, patch {config.patch_size}³, batch "
            f"{config.batch_size}; best validation Dice {best} at epoch {result.best_epoch}; failed predictions: "
            f"{sorted(batch.failed) or 'none'}")
    path = _report(out, evaluation.summary, timings, pngs, curve, (run / CONFIG_FILE).read_text(encoding="utf-8"), info,
                   preset)
    return DemoResult(path, evaluation.summary, timings)
