"""Seed 004 evidence on phantoms: SegVol baseline vs + Mixture-of-Adapters (LoRA fine-tuning path for MRI) vs
+ context priors (full SegEVOLution), each trained on a mixed CT / MRI-like phantom benchmark and scored (Dice per
class, mean) on the CT and on the MRI-like test cases separately, over several seeds.

One command: `.venv/bin/python experiments/seed004_segevolution.py --budget smoke|full --out runs/seed004
[--seeds 0 1 2]`. Writes `OUT/records/<arm>_seed<n>.json` per run (finished runs are skipped, so processes
for different seeds can share OUT once `--prepare-only` has made the data), `OUT/results.json` (all runs) and
`OUT/results.md` + `OUT/results.png` (mean ± sample std over seeds); the committed full results are such a
folder: docs/results/seed004_full/. `--report-only` redraws table and plot from OUT/records.
smoke: tiny phantoms (48 x 48 x 40), light models, 32³ patches, 400 steps (~2.5 min per run on one CPU core);
full: small phantoms, light models, 48³ patches, 1000 steps (~100–140 s per run on an H100; GPU advised).
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
    from medvlseg.models.sliding import window_size
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
    ap.add_argument("--report-only", action="store_true", help="train nothing: table + plot of OUT/records")
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
    cache = None if args.report_only else make_data(args.out, budget, args.workers)
    if args.prepare_only:
        return
    for seed in [] if args.report_only else args.seeds:
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
    write_plot(args.out / "results.png", results, args.budget)


def write_plot(path: Path, results: list[dict], budget: str) -> None:
    """Grouped bars of test Dice (CT, MRI-like) per arm: mean ± seed std, one dot per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a for a in ARMS if any(r["arm"] == a for r in results)]
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for i, (key, label, colour) in enumerate((("dice_ct", "CT", "#7f8c8d"), ("dice_mri", "MRI-like", "#8e44ad"))):
        vals = [[r[key] for r in results if r["arm"] == a] for a in arms]
        pos = np.arange(len(arms)) + (i - 0.5) * 0.38
        ax.bar(pos, [np.mean(v) for v in vals], 0.36, yerr=[np.std(v, ddof=1) if len(v) > 1 else 0 for v in vals],
               color=colour, alpha=0.8, capsize=3, label=label)
        for p, v in zip(pos, vals):
            ax.scatter([p] * len(v), v, s=9, color="black", zorder=3)
    ax.set_xticks(np.arange(len(arms)), arms)
    ax.set_ylabel("test Dice (mean of 4 classes)")
    ax.set_ylim(0, 1)
    ax.set_title(f"Seed 004 on mixed CT / MRI-like phantoms ({budget})", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def write_table(path: Path, results: list[dict], budget: str) -> None:
    """Markdown table: mean ± std over seeds of test Dice on CT and MRI-like cases, and training seconds."""
    lines = [f"# Seed 004 on mixed CT / MRI-like phantoms ({budget} budget)", "", "![results](results.png)", "",
             "Mean Dice over the 4 classes (left/right artery/vein) of the best-validation checkpoint on the test "
             "cases of each modality; mean ± sample std over seeds (nan: one seed).", "",
             "| arm | seeds | Dice CT | Dice MRI-like | train s |", "|---|---|---|---|---|"]
    for arm in ARMS:
        rows = [r for r in results if r["arm"] == arm]
        if not rows:
            continue
        stat = {k: (np.mean([r[k] for r in rows]), np.std([r[k] for r in rows], ddof=1) if len(rows) > 1 else np.nan)
                for k in ("dice_ct", "dice_mri", "train_s")}
        lines.append(f"| {arm} | {len(rows)} | {stat['dice_ct'][0]:.3f} ± {stat['dice_ct'][1]:.3f} | "
                     f"{stat['dice_mri'][0]:.3f} ± {stat['dice_mri'][1]:.3f} | {stat['train_s'][0]:.0f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
