"""Run an experiment: shared phantom data and cache, one training run per (arm, seed), test-split predict and
evaluate, metrics JSON per run (skipped when present), then the table (medvlseg.experiments.report)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medvlseg.experiments.budget import Budget
from medvlseg.train.config import LossConfig, TrainConfig
from medvlseg.utils.atomic import write_json
from medvlseg.utils.config import from_dict, override, to_dict

log = logging.getLogger(__name__)

# settings that change how fast a run goes, not what it learns: left out of the run key
_NOT_IN_KEY = ("seed", "device", "num_workers", "threads", "amp", "tensorboard")


@dataclass(frozen=True)
class Arm:
    """One row of a table: a name and its TrainConfig changes (dotted keys; `model` = ModelConfig overrides)."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExperimentResult:
    """Per-run metric records, the aggregated rows and the files written."""

    runs: list[dict]
    rows: list[dict]
    files: list[Path]
    seconds: float


def arm_config(arm: Arm, budget: Budget, seed: int) -> TrainConfig:
    """The TrainConfig of `arm` under `budget` for `seed` (preprocessing = the budget's cache)."""
    cfg = from_dict(TrainConfig, {**budget.train})
    cfg = override(cfg, seed=seed, **arm.changes)
    cfg.model.update(arm.model)
    cfg.preprocess = _preprocess(budget)
    return cfg


def run_key(cfg: TrainConfig, budget: Budget) -> str:
    """12-hex hash of what a run learns from: config (speed-only fields and seed excluded) + phantom preset."""
    data = {k: v for k, v in to_dict(cfg).items() if k not in _NOT_IN_KEY}
    if data.get("loss") == to_dict(LossConfig()):  # runs from before the `loss` section keep their keys
        del data["loss"]
    text = json.dumps({"config": data, "phantom": budget.phantom}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _preprocess(budget: Budget):  # type: ignore[no-untyped-def]
    """The budget's PreprocessConfig (working spacing, tubularity)."""
    from medvlseg.data.preprocess import PreprocessConfig

    spacing = None if budget.spacing_mm is None else (budget.spacing_mm,) * 3
    return PreprocessConfig(target_spacing=spacing, tubularity=budget.tubularity)


def prepare_data(budget: Budget, work: Path, progress: bool = False) -> tuple[Path, Path]:
    """(manifest, cache) of the budget's phantom benchmark (seed 0), generated/preprocessed once."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark

    manifest = work / "phantoms" / "dataset.json"
    if not manifest.is_file():
        write_benchmark(work / "phantoms", budget.phantom, seed=0, workers=2)
    cache = work / "cache"
    report = build_cache(manifest, cache, _preprocess(budget), workers=2, progress=progress)
    if report.failed:
        raise RuntimeError(f"preprocessing failed: {report.failed}")
    return manifest, cache


def _test_metrics(run: Path, manifest: Path, progress: bool) -> tuple[dict, dict]:
    """Predict the test split with the run's best checkpoint and score it: (per-class means, timings)."""
    from medvlseg.eval.evaluate import evaluate
    from medvlseg.experiments.report import class_means
    from medvlseg.infer.batch import collect_inputs, run_batch
    from medvlseg.infer.predictor import Predictor, PredictOptions

    t0 = time.perf_counter()
    predictor = Predictor.from_run(run, PredictOptions())
    batch = run_batch(predictor.predict_file, collect_inputs(manifest, "test"), run / "test_pred", overwrite=True,
                      progress=progress)
    if batch.failed:
        raise RuntimeError(f"{run}: test prediction failed: {batch.failed}")
    t_pred = time.perf_counter() - t0
    result = evaluate(run / "test_pred", None, manifest, split="test")
    return class_means(result.summary), {"predict_s": round(t_pred, 2), "evaluate_s": round(time.perf_counter() - t0 - t_pred, 2)}


def run_one(arm: Arm, seed: int, budget: Budget, manifest: Path, cache: Path, work: Path, results: Path,
            progress: bool = False) -> dict:
    """Train (or resume), predict and score one (arm, seed); the metrics JSON is reused when it exists."""
    from medvlseg.train.trainer import Trainer

    record = finished_record(arm, seed, budget, results)
    if record is not None:
        return record
    cfg = arm_config(arm, budget, seed)
    key = run_key(cfg, budget)
    record_path = _record_path(cfg, seed, budget, results)
    run = work / "runs" / key / f"seed{seed}"
    log.info("%s seed %d: training %s", arm.name, seed, run)
    t0 = time.perf_counter()
    fit = Trainer(cfg, cache, run, resume=(run / "last.json").is_file(), progress=progress).fit()
    train_s = time.perf_counter() - t0
    metrics, timings = _test_metrics(run, manifest, progress)
    record = {"arm": arm.name, "key": key, "seed": seed, "budget": budget.name, "phantom": budget.phantom,
              "metrics": metrics, "best_val_dice": fit.best_dice if fit.best_epoch > 0 else None,
              "train_s": round(train_s, 1), **timings, "config": to_dict(cfg)}
    write_json(record_path, record)
    return record


def _record_path(cfg: TrainConfig, seed: int, budget: Budget, results: Path) -> Path:
    """Where the metrics record of a run (config `cfg`, `seed`) lives."""
    return results / "runs" / run_key(cfg, budget) / f"seed{seed}.json"


def finished_record(arm: Arm, seed: int, budget: Budget, results: Path) -> dict | None:
    """The metrics record of (arm, seed) when that run has finished, else None."""
    path = _record_path(arm_config(arm, budget, seed), seed, budget, results)
    return {**json.loads(path.read_text(encoding="utf-8")), "arm": arm.name} if path.is_file() else None


def run_experiment(name: str, title: str, arms: Sequence[Arm], budget: Budget, results: Path, work: Path,
                   notes: str = "", progress: bool = True, report_only: bool = False) -> ExperimentResult:
    """Every (arm, seed) of the experiment, then `<results>/<name>.{csv,md,png}`.

    `report_only`: train nothing; tabulate the runs that have finished (a partial table shows n per cell).
    """
    from tqdm import tqdm

    from medvlseg.experiments.report import write_table

    t0 = time.perf_counter()
    if report_only:
        found = [finished_record(arm, seed, budget, results) for arm in arms for seed in budget.seeds]
        runs = [r for r in found if r is not None]
        rows, files = write_table(name, title, [a.name for a in arms], runs, results, budget, notes)
        return ExperimentResult(runs, rows, files, time.perf_counter() - t0)
    manifest, cache = prepare_data(budget, work, progress)
    runs = []
    jobs = [(arm, seed) for arm in arms for seed in budget.seeds]
    for arm, seed in tqdm(jobs, desc=name, unit="run", disable=not progress):
        runs.append(run_one(arm, seed, budget, manifest, cache, work, results, progress=False))
    rows, files = write_table(name, title, [a.name for a in arms], runs, results, budget, notes)
    return ExperimentResult(runs, rows, files, time.perf_counter() - t0)
