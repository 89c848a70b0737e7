"""Seed 004 evidence on phantoms: SegVol baseline vs + Mixture-of-Adapters (LoRA fine-tuning path for MRI) vs
+ context priors (full SegEVOLution), each trained on a mixed CT / MRI-like phantom benchmark and scored (Dice per
class, mean) on the CT and on the MRI-like test cases separately, over several seeds.

One command: `.venv/bin/python experiments/seed004_segevolution.py --budget smoke|full --out runs/seed004
[--seeds 0 1 2]`. Writes `OUT/records/<arm>_seed<n>.json` per run (finished runs are skipped, so processes
for different seeds can share OUT once `--prepare-only` has made the data), `OUT/results.json` (all runs) and
`OUT/results.md` (mean ± std over seeds); copy the latter two to docs/results/. smoke: tiny phantoms (48 x 48 x 40), light models, 32³ patches, 400 steps (~2.5 min per
run on one CPU core); full: small phantoms, light models, 48³ patches, longer schedule (GPU advised).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("seed004")

ARMS = {  # name → (preset, dotted ModelConfig overrides)
    "segvol": ("segvol", {}),
    "+moa": ("segevolution", {"options.priors": False}),
    "+moa+priors": ("segevolution", {}),
}
BUDGETS = {
    "smoke": {"phantom": "tiny", "n_train": 8, "n_val": 2, "n_test": 4, "patch_size": 32, "batch_size": 2,
              "epochs": 10, "steps_per_epoch": 40, "lr": 2e-3, "val_every": 2},
    "full": {"phantom": "small", "n_train": 14, "n_val": 2, "n_test": 6, "patch_size": 48, "batch_size": 2,
             "epochs": 40, "steps_per_epoch": 25, "lr": 5e-4, "val_every": 5},
}


def make_data(out: Path, budget: dict, workers: int = 1) -> Path:
    """Mixed CT / MRI-like phantom benchmark (alternating cases) and its preprocessed cache; returns the cache."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.phantom.presets import get_preset
    from medvlseg.data.preprocess import PreprocessConfig

    cache = out / "cache"
    if (cache / "cache.json").is_file():
        return cache
    config = get_preset(budget["phantom"], n_train=budget["n_train"], n_val=budget["n_val"],
                        n_test=budget["n_test"], n_train_full=max(2, budget["n_train"] // 4), preview=False)
    manifest = write_benchmark(out / "phantoms", config, seed=4, modality="mixed", name=budget["phantom"])
    report = build_cache(manifest, cache, PreprocessConfig(), workers=workers, progress=False)
    if report.failed:
        raise RuntimeError(f"preprocessing failed: {report.failed}")
    return cache


def test_dice(run: Path, cache: Path) -> dict[str, float]:
    """Mean Dice (over the 4 classes) of the run's best model on the CT and on the MRI-like test cases."""
    import torch

    from medvlseg.data.cache import list_cases, load_case
    from medvlseg.infer.predictor import read_run
    from medvlseg.infer.sliding import window_size
    from medvlseg.models import load_model
    from medvlseg.train.sampling import case_modality
    from medvlseg.train.validation import validate

    model = load_model(run / "best")
    config, _ = read_run(run)
    roi = window_size([int(config["patch_size"])] * 3, model.size_divisor)
    names = list_cases(cache, "test")
    out = {}
    for modality in ("ct", "mri"):
        subset = [n for n in names if case_modality(load_case(cache, n)) == modality]
        with torch.no_grad():
            scores = validate(model, cache, subset, roi, "5class", overlap=0.25)
        out[modality] = float(np.nanmean(scores))
    return out


def main() -> None:
    """Train every arm for every seed, score CT / MRI-like test Dice, write results.json and results.md."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="smoke")
    ap.add_argument("--out", type=Path, default=Path("runs/seed004"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=1, help="processes for preprocessing the phantoms")
    ap.add_argument("--prepare-only", action="store_true", help="make the phantoms and cache, train nothing")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    from medvlseg.train.config import TrainConfig
    from medvlseg.train.trainer import Trainer
    from medvlseg.utils.atomic import write_json

    if args.threads:
        torch.set_num_threads(args.threads)
    budget = BUDGETS[args.budget]
    args.out.mkdir(parents=True, exist_ok=True)
    cache = make_data(args.out, budget, args.workers)
    if args.prepare_only:
        return
    for seed in args.seeds:
        for arm, (preset, overrides) in ARMS.items():
            record = args.out / "records" / f"{arm.replace('+', 'p_')}_seed{seed}.json"
            if record.is_file():
                continue
            run = args.out / f"{arm.replace('+', 'p_')}_seed{seed}"
            config = TrainConfig(preset=preset, light=True, model=dict(overrides), seed=seed, num_workers=0,
                                 device=args.device, warmup_epochs=1, **{k: budget[k] for k in (
                                     "patch_size", "batch_size", "epochs", "steps_per_epoch", "lr", "val_every")})
            t0 = time.perf_counter()
            Trainer(config, cache, run, resume=(run / "last.json").is_file(), progress=False).fit()
            seconds = time.perf_counter() - t0
            dice = test_dice(run, cache)
            row = {"arm": arm, "seed": seed, "dice_ct": dice["ct"], "dice_mri": dice["mri"], "train_s": seconds}
            log.info("%s", row)
            write_json(record, row)
    results = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((args.out / "records").glob("*.json"))]
    write_json(args.out / "results.json", results)
    write_table(args.out / "results.md", results, args.budget)


def write_table(path: Path, results: list[dict], budget: str) -> None:
    """Markdown table: mean ± std over seeds of test Dice on CT and MRI-like cases, and training seconds."""
    lines = [f"# Seed 004 on mixed CT / MRI-like phantoms ({budget} budget)", "",
             "Mean Dice over the 4 classes (left/right artery/vein) of the best-validation checkpoint on the test "
             "cases of each modality; mean ± std over seeds.", "",
             "| arm | seeds | Dice CT | Dice MRI-like | train s |", "|---|---|---|---|---|"]
    for arm in ARMS:
        rows = [r for r in results if r["arm"] == arm]
        if not rows:
            continue
        stat = {k: (np.mean([r[k] for r in rows]), np.std([r[k] for r in rows])) for k in ("dice_ct", "dice_mri",
                                                                                          "train_s")}
        lines.append(f"| {arm} | {len(rows)} | {stat['dice_ct'][0]:.3f} ± {stat['dice_ct'][1]:.3f} | "
                     f"{stat['dice_mri'][0]:.3f} ± {stat['dice_mri'][1]:.3f} | {stat['train_s'][0]:.0f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
