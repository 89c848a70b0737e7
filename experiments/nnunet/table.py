"""The nnU-Net row of Table IV: per-repeat `medvlseg evaluate` summaries → mean ± sample std → Markdown, CSV, JSON.

Run by `bash experiments/nnunet/run.sh full table` (project .venv). Reads, under --work: plan.json (nnU-Net's
plan), results_rep<r>/train.json and predict.json (experiments/nnunet/timed.py), the trainer's debug.json and
training log (epochs, iterations, epoch times) and eval_rep<r>/summary.json; optionally bench_cpu.json
(experiments/nnunet/bench_iter.py) and experiments/nnunet/reading.md (a hand-written reading, appended).
Metric conventions are those of docs/results/table4_comparison.md (medvlseg.experiments.report): each repeat's
value is the mean over the test cases, the cell is mean ± sample std over repeats; artery and vein columns.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import re
import sys
from datetime import datetime
from pathlib import Path

from medvlseg.experiments.report import (
    CLASSES, TABLE_METRICS, _cell, aggregate, class_means, table_head, to_csv)
from medvlseg.utils.atomic import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
ARM = "nnU-Net (v2, 3d_fullres)"
OTHERS = ("3D U-Net", "Universal Model", "LACAF")


def _json(path: Path, default: dict | None = None) -> dict | None:
    """A JSON file's content, or `default` when the file does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else default


def repeat_record(work: Path, r: int, trainer: str) -> dict | None:
    """One repeat's metrics (per class: metric → mean over test cases) and timings; None when not evaluated."""
    s = _json(work / f"eval_rep{r}" / "summary.json")
    if s is None:
        return None
    metrics = class_means(s["classes"])
    res = work / f"results_rep{r}"
    train, pred = _json(res / "train.json", {}), _json(res / "predict.json", {})
    fold = res / "Dataset501_PhantomAV" / f"{trainer}__nnUNetPlans__3d_fullres" / "fold_all"
    debug = _json(fold / "debug.json", {})
    epoch_s, pseudo = [], None
    for log in sorted(fold.glob("training_log_*.txt")):
        text = log.read_text(encoding="utf-8")
        epoch_s += [float(x) for x in re.findall(r"Epoch time: ([0-9.]+) s", text)]
        found = re.findall(r"Pseudo dice \[(.*?)\]", text)
        pseudo = re.sub(r"np\.float32\(([^)]*)\)", r"\1", found[-1]) if found else pseudo
    return {"arm": ARM, "seed": r, "repeat": r, "metrics": metrics, "n_test_cases": s["n_cases"],
            "missing": s["missing"], "failed": s["failed"],
            "train_s": train.get("wall_s"), "train_rc": train.get("rc"), "peak_rss_kb": train.get("peak_rss_kb"),
            "device": train.get("device"), "hardware": train.get("hardware"), "started_utc": train.get("started_utc"),
            "nnUNet_n_proc_DA": train.get("nnUNet_n_proc_DA"), "loadavg_at_start": train.get("loadavg_at_start"),
            "num_epochs": int(debug["num_epochs"]) if "num_epochs" in debug else None,
            "num_iterations_per_epoch": int(debug["num_iterations_per_epoch"])
            if "num_iterations_per_epoch" in debug else None,
            "num_val_iterations_per_epoch": int(debug["num_val_iterations_per_epoch"])
            if "num_val_iterations_per_epoch" in debug else None,
            "epoch_s": epoch_s, "last_pseudo_dice": pseudo,
            "predict_s": pred.get("wall_s"), "predict_rc": pred.get("rc")}


def other_rows() -> tuple[dict, dict]:
    """Table IV's other arms: (arm, class, metric) → csv row, and arm → training seconds per seed."""
    rows = {}
    path = ROOT / "docs" / "results" / "table4_comparison.csv"
    if path.is_file():
        for row in csv.DictReader(path.open(encoding="utf-8")):
            rows[(row["arm"], row["class"], row["metric"])] = row
    train_s: dict[str, list[float]] = {}
    for f in sorted(glob.glob(str(ROOT / "docs" / "results" / "runs" / "*" / "seed*.json"))):
        d = _json(Path(f))
        if d.get("arm") in OTHERS and d.get("budget") == "full":
            train_s.setdefault(d["arm"], []).append(d["train_s"])
    return rows, train_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--trainer", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", required=True, help="output stem: writes STEM.md, STEM.csv, STEM.json")
    ap.add_argument("--budget", default="full")
    args = ap.parse_args()
    work, out = Path(args.work), Path(args.out)
    plan = _json(work / "plan.json")["configurations"]["3d_fullres"]
    arch = plan["architecture"]["arch_kwargs"]
    runs = [rec for r in range(args.repeats) if (rec := repeat_record(work, r, args.trainer)) is not None]
    if not runs:
        print(f"no evaluated repeat under {work}", file=sys.stderr)
        return 1
    rows = aggregate([ARM], runs, n_expected=args.repeats)
    for row in rows:
        row["seeds"] = [r["repeat"] for r in runs]
    index = {(r["class"], r["metric"]): r for r in rows}
    bench = _json(work / "bench_cpu.json")
    others, others_s = other_rows()
    r0 = runs[0]
    epochs, iters = r0["num_epochs"], r0["num_iterations_per_epoch"]

    lines = ["# Table IV — nnU-Net row (artery and vein)", "", *table_head(),
             f"| {ARM} | " + " | ".join(_cell(index[(cls, m)]) for cls in CLASSES for m in TABLE_METRICS) + " |"]
    for arm in OTHERS:  # the other arms, copied from table4_comparison.csv, for reading side by side
        if all((arm, cls, m) in others for cls in CLASSES for m in TABLE_METRICS):
            lines.append(f"| {arm} (from table4_comparison.md) | " + " | ".join(
                f"{float(others[(arm, cls, m)]['mean']):.3f} ± {float(others[(arm, cls, m)]['std']):.3f}"
                for cls in CLASSES for m in TABLE_METRICS) + " |")
    hw = sorted({r["hardware"] for r in runs if r["hardware"]})
    lines += ["", f"Mean ± sample std over {len(runs)} independent nnU-Net repeats {[r['repeat'] for r in runs]} "
              "(nnU-Net is not seeded; each repeat's value is the mean over the "
              f"{r0['n_test_cases']} test cases), scored by `medvlseg evaluate --split test` (3 classes, NSD at "
              "1 mm, physical spacing; inf HD95 left out) — the conventions of table4_comparison.md. Budget "
              f"`{args.budget}`: the same phantoms (experiments/work/{args.budget}/phantoms, preset `small`, "
              "train/val/test split of its manifest) as the other Table IV arms; nnU-Net trains on the 14 "
              "training cases (fold `all`, half-labeled sides as its `ignore` label) and predicts the test split.",
              "", "## nnU-Net's plan and schedule", "",
              f"- configuration 3d_fullres, {plan['architecture']['network_class_name'].rsplit('.', 1)[-1]}, "
              f"{arch['n_stages']} stages, features {list(arch['features_per_stage'])}",
              f"- patch {plan['patch_size']}, spacing {[round(x, 3) for x in plan['spacing']]} mm "
              f"(z, y, x), batch {plan['batch_size']}, normalization {plan['normalization_schemes']}",
              f"- trainer `{args.trainer}`: {epochs} epoch(s) × {iters} iterations "
              f"(+ {r0['num_val_iterations_per_epoch']} validation iterations per epoch), nnU-Net's defaults "
              "otherwise (SGD, poly LR from 0.01, deep supervision, its augmentation); torch.compile off "
              "(nnUNet_compile=false); prediction without test-time mirroring (--disable_tta, as our arms), "
              "no nnU-Net postprocessing",
              "", "## Runs", "",
              "| repeat | device | train wall (s) | epoch time (s) | peak RSS (MB) | predict wall (s) | train rc | "
              "last pseudo-Dice (artery, vein) |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        rss = f"{r['peak_rss_kb'] / 1024:.0f}" if r["peak_rss_kb"] else "n/a"
        lines.append(f"| {r['repeat']} | {r['device']} | {r['train_s']} | "
                     f"{', '.join(f'{x:.1f}' for x in r['epoch_s']) or 'n/a'} | {rss} | {r['predict_s']} | "
                     f"{r['train_rc']} | {r['last_pseudo_dice']} |")
    spans = sorted((datetime.fromisoformat(r["started_utc"]).timestamp(), r["train_s"])
                   for r in runs if r["started_utc"] and r["train_s"])
    par = any(b[0] < a[0] + a[1] for a, b in zip(spans, spans[1:]))  # training runs overlapped in time
    lines += ["", f"Hardware: {'; '.join(hw)}. Train wall = the whole `nnUNetv2_train` process (start-up, "
              "the epoch, nnU-Net's own final validation on the training cases); peak RSS = largest host resident "
              "set of one process (getrusage), not GPU memory."
              + (" The repeats ran side by side on the one GPU (PARALLEL=1, 4 augmentation workers each), "
                 "so each wall time includes that sharing." if par else "")]
    if bench:
        ours = sorted(s for arm in OTHERS for s in others_s.get(arm, []))
        median = ours[len(ours) // 2] if ours else 120.0  # s per run of our arms (~100–150 s when unknown)
        one = bench["s_per_train_iter"] * bench["iters_per_epoch"] + bench["s_per_val_iter"] * \
            bench["val_iters_per_epoch"]
        lines += ["", "## CPU timing (why the row was trained on a GPU)", "",
                  f"On the project's machine (2 CPU cores, shared with other experiments running at the same time), "
                  f"one nnU-Net training iteration took {bench['s_per_train_iter']:.1f} s and one validation "
                  f"iteration {bench['s_per_val_iter']:.1f} s (`bash experiments/nnunet/run.sh full bench`, "
                  f"`-device cpu`, {bench['threads']} threads, nnUNet_n_proc_DA=1). One epoch of "
                  f"`{args.trainer}` would take about {one / 60:.0f} min there (≈ {one / 3600:.1f} h per repeat, "
                  f"{3 * one / 3600:.1f} h for 3), against "
                  + (f"{ours[0]:.0f}–{ours[-1]:.0f} s (median {median:.0f} s) "
                     if ours else "about 100–150 s ")
                  + f"for each run of the other Table IV arms on the same CPU: about "
                  f"{one / median:.0f}× their wall time for nnU-Net's "
                  "smallest fixed-epoch variant. Equal wall time on that CPU would buy nnU-Net about "
                  f"{median / bench['s_per_train_iter']:.0f} iterations, "
                  "which is no training at all. So the three repeats ran on one NVIDIA GPU instead, same "
                  "schedule (wall times on the two machines are not comparable; the metrics differ from a CPU "
                  "run only by numerics: nnU-Net trains with mixed precision on CUDA, fp32 on CPU). "
                  "Budget match: 1 epoch = 250 iterations of batch 2 (80³ patches) vs our arms' 300 steps of "
                  "batch 2 (48³ patches)."]
    lines += ["", "## Commands", "",
              "On the project machine: `bash experiments/nnunet/run.sh full setup convert plan bench` (nnU-Net's "
              "plan; CPU timing), then `bash experiments/nnunet/gpu_bundle.sh` (the packages nnU-Net needs beyond "
              "a stock CUDA PyTorch image, for a GPU machine without registry access).",
              "On the GPU machine (repo + .nnunet_gpu + experiments/work/nnunet_full/raw + the plan's JSONs): "
              "`bash experiments/nnunet/gpu_run.sh`, i.e. `run.sh full preprocess` (re-creates the preprocessed "
              "data from raw + the plan; doing this on the project machine reproduced its files bit for bit), "
              "`DEVICE=cuda PARALLEL=1 nnUNet_n_proc_DA=4 nnUNet_compile=false run.sh full train`, "
              "`run.sh full predict`; it returns logs, timings and predictions (not checkpoints).",
              "Back on the project machine: `tar -xzf nnunet_full_gpu.tar.gz -C experiments/work/nnunet_full && "
              "bash experiments/nnunet/run.sh full evaluate table`.",
              "Where .venv-nnunet sees a CUDA GPU, `bash experiments/nnunet/run.sh full` runs every stage "
              "(repeats one after another unless PARALLEL=1); finished repeats are skipped."]
    if (ROOT / "experiments" / "nnunet" / "reading.md").is_file():
        lines += ["", (ROOT / "experiments" / "nnunet" / "reading.md").read_text(encoding="utf-8").strip()]
    write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    write_text(out.with_suffix(".csv"), to_csv(rows))
    write_json(out.with_suffix(".json"), {
        "arm": ARM, "budget": args.budget, "trainer": args.trainer, "repeats_expected": args.repeats,
        "plan": {"patch_size": plan["patch_size"], "spacing_zyx_mm": plan["spacing"],
                 "batch_size": plan["batch_size"], "network": plan["architecture"]["network_class_name"],
                 "n_stages": arch["n_stages"], "features_per_stage": list(arch["features_per_stage"]),
                 "num_epochs": epochs, "num_iterations_per_epoch": iters},
        "cpu_bench": bench, "rows": rows, "runs": runs})
    print(f"wrote {out.with_suffix('.md')}, .csv, .json ({len(runs)} repeats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
