"""Run an experiment: shared phantom / engine data and cache, one training run per (arm, seed), test-split predict
and evaluate, a record per run (skipped when present: per-class means, per-case scores, test case ids, device,
steps, budget, full config), then the table with its claims (medvlseg.experiments.report)."""

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
from medvlseg.experiments.verdicts import Claim
from medvlseg.train.config import LossConfig, TrainConfig
from medvlseg.utils.atomic import write_json
from medvlseg.utils.config import from_dict, override, to_dict

log = logging.getLogger(__name__)

# settings that change how fast a run goes, not what it learns: left out of the run key
_NOT_IN_KEY = ("seed", "device", "num_workers", "threads", "amp", "tensorboard")


def _later_fields() -> dict[str, Any]:
    """TrainConfig fields added after the first committed records, with their defaults (left out of the key at
    the default, so those records stay findable)."""
    from medvlseg.train.stream import StreamConfig

    return {"loss": to_dict(LossConfig()), "data": "", "init": "", "stream": to_dict(StreamConfig())}


@dataclass(frozen=True)
class Arm:
    """One row of a table: a name and its TrainConfig changes (dotted keys; `model` = ModelConfig overrides)."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    skip_budgets: tuple[str, ...] = ()  # budgets this arm is not run at (named in the table's notes)


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
    for name, default in _later_fields().items():  # runs from before these fields existed keep their keys
        if data.get(name) == default:
            del data[name]
    keyed: dict[str, Any] = {"config": data, "phantom": budget.phantom}
    if budget.modality != "ct" or budget.phantom_overrides:  # classic phantoms other than the preset's CT set
        keyed |= {"modality": budget.modality, "phantom_overrides": budget.phantom_overrides}
    if budget.engine_set is not None:  # the engine set's definition (counts, seeds, overrides) is part of the data
        from dataclasses import asdict

        from medvlseg.experiments.engine_data import ENGINE_SETS

        keyed["engine_set"] = asdict(ENGINE_SETS[budget.engine_set])
    text = json.dumps(keyed, sort_keys=True, default=str)
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

    if budget.engine_set is not None:
        from medvlseg.experiments.engine_data import ENGINE_SETS, write_engine_set

        manifest = write_engine_set(work / "engine", ENGINE_SETS[budget.engine_set], workers=1)
    else:
        manifest = work / "phantoms" / "dataset.json"
    if not manifest.is_file():
        from medvlseg.data.phantom.presets import get_preset

        config = get_preset(budget.phantom, **budget.phantom_overrides)
        write_benchmark(work / "phantoms", config, seed=0, workers=2, name=budget.phantom, modality=budget.modality)
    cache = work / "cache"
    report = build_cache(manifest, cache, _preprocess(budget), workers=2, progress=progress)
    if report.failed:
        raise RuntimeError(f"preprocessing failed: {report.failed}")
    return manifest, cache


def _test_metrics(run: Path, manifest: Path, progress: bool, device: str = "auto",
                  overlap: float = 0.5) -> tuple[dict, dict, dict]:
    """Predict the test split with the run's best checkpoint and score it: (per-class means, {"scores": per-case
    scores, "info": per-case modality and contrast phase}, timings). Cases whose manifest meta names a modality
    (MRI-like phantoms) are predicted with that modality (sliding-window `overlap`, a fraction)."""
    from medvlseg.eval.evaluate import evaluate
    from medvlseg.experiments.report import case_scores, class_means
    from medvlseg.infer.batch import collect_inputs, run_batch
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.io import Manifest

    t0 = time.perf_counter()
    tests = [c for c in Manifest.load(manifest).cases if c.split == "test"]
    modality = {c.name: c.meta.get("modality", "ct") for c in tests}
    items = collect_inputs(manifest, "test")
    for mod in sorted(set(modality.values())):
        options = PredictOptions(device=device, overlap=overlap, modality=None if mod == "ct" else mod)
        predictor = Predictor.from_run(run, options)
        mine = [it for it in items if modality.get(it.name, "ct") == mod]
        batch = run_batch(predictor.predict_file, mine, run / "test_pred", overwrite=True, progress=progress)
        if batch.failed:
            raise RuntimeError(f"{run}: test prediction failed: {batch.failed}")
    t_pred = time.perf_counter() - t0
    result = evaluate(run / "test_pred", None, manifest, split="test")
    if not result.ok:
        raise RuntimeError(f"{run}: test evaluation incomplete: missing {result.missing}, failed {result.failed}")
    timings = {"predict_s": round(t_pred, 2), "evaluate_s": round(time.perf_counter() - t0 - t_pred, 2)}
    info = {c.name: {"modality": modality[c.name], "phase": c.meta.get("phase", "contrast" if c.meta.get("contrast")
                                                                        else "none")} for c in tests}
    return class_means(result.summary), {"scores": case_scores(result.rows), "info": info}, timings


def device_info(device: str) -> dict:
    """Where a run ran: kind (cpu / cuda), model name, CPU cores, torch threads and version."""
    import os
    import platform

    import torch

    kind = "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"
    name = torch.cuda.get_device_name(0) if kind == "cuda" else (_cpu_model() or platform.processor() or "cpu")
    return {"kind": kind, "name": name, "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__}


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo ('' where unreadable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return ""
    return ""


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
    metrics, cases, timings = _test_metrics(run, manifest, progress, cfg.device, budget.predict_overlap)
    record = {"arm": arm.name, "key": key, "seed": seed, "budget": budget.name, "phantom": budget.phantom,
              "engine_set": budget.engine_set, "steps": cfg.epochs * cfg.steps_per_epoch,
              "budget_train": dict(budget.train), "device": device_info(cfg.device),
              "metrics": metrics, "test_cases": sorted(cases["scores"]), "cases": cases["scores"],
              "case_info": cases["info"],
              "best_val_dice": fit.best_dice if fit.best_epoch > 0 else None,
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
                   notes: str = "", progress: bool = True, report_only: bool = False,
                   claims: Sequence[Claim] = ()) -> ExperimentResult:
    """Every (arm, seed) of the experiment, then `<results>/<name>.{csv,md,png}`.

    `report_only`: train nothing; tabulate the runs that have finished (a partial table shows n per cell).
    """
    from tqdm import tqdm

    from medvlseg.experiments.report import write_table

    t0 = time.perf_counter()
    arms = [a for a in arms if budget.name not in a.skip_budgets]
    keys = {a.name: run_key(arm_config(a, budget, budget.seeds[0]), budget) for a in arms}
    if report_only:
        found = [finished_record(arm, seed, budget, results) for arm in arms for seed in budget.seeds]
        runs = [r for r in found if r is not None]
        rows, files = write_table(name, title, [a.name for a in arms], runs, results, budget, notes, claims, keys)
        return ExperimentResult(runs, rows, files, time.perf_counter() - t0)
    manifest, cache = prepare_data(budget, work, progress)
    runs = []
    jobs = [(arm, seed) for arm in arms for seed in budget.seeds]
    for arm, seed in tqdm(jobs, desc=name, unit="run", disable=not progress):
        runs.append(run_one(arm, seed, budget, manifest, cache, work, results, progress=False))
    rows, files = write_table(name, title, [a.name for a in arms], runs, results, budget, notes, claims, keys)
    return ExperimentResult(runs, rows, files, time.perf_counter() - t0)
