"""Measure the shipped default model (MODEL_CARD.md's figures), one sub-command per figure; results in
docs/results/default_model/<name>.json (+ the exact commands and the hardware), work files in experiments/work/.

  .venv/bin/python experiments/default_model_eval.py testset   # the engine test set (24 unseen cases)
  .venv/bin/python experiments/default_model_eval.py engine    # Dice / clDice / HD95 on it, per phase and FOV
  .venv/bin/python experiments/default_model_eval.py old       # the classic phantom presets' test split
  .venv/bin/python experiments/default_model_eval.py real      # share of the real CTA's trunk mask (check only)
  .venv/bin/python experiments/default_model_eval.py thorax    # whole-thorax non-contrast 4 mm case
  .venv/bin/python experiments/default_model_eval.py figures   # failure-mode pictures for the card
  .venv/bin/python experiments/default_model_eval.py speed     # predict --fast of a 512x512x300 CT, end to end
Fine-tuning vs scratch: experiments/default_finetune.py.
The real CT is a check only: nothing here trains or tunes on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "experiments" / "work" / "default_eval"
RESULTS = ROOT / "docs" / "results" / "default_model"
REAL_CT = ROOT.parent / "shared" / "data" / "real" / "ts_chest_cta_pulm" / "ct.nii.gz"
TRUNK_CHECK = ROOT.parent / "shared" / "tools" / "pa_trunk_check.py"
PHASES = ("none", "arterial", "venous", "random")
# (field of view, in-plane spacing range mm, slice spacing range mm): 0.7–3 mm voxels over every field of view
GEOMETRIES = (("cta", (0.7, 0.8), (1.0, 1.25)), ("cta", (1.4, 1.6), (1.4, 2.0)), ("one_lung", (1.0, 1.2), (1.5, 2.5)),
              ("thorax", (1.5, 2.0), (2.0, 3.0)), ("bases", (2.5, 3.0), (2.5, 3.0)), ("thorax", (2.5, 3.0), (2.5, 3.0)))


def hardware() -> str:
    """One line: CPU count, model, torch threads (the figures' hardware)."""
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__} with {torch.get_num_threads()} threads, no GPU"


def save_result(name: str, data: dict, command: str) -> Path:
    """docs/results/default_model/<name>.json with the command and hardware."""
    from medvlseg.utils.atomic import write_json

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_json(path, {"command": command, "hardware": hardware(), "note": "2 CPU cores shared with other jobs: "
                      "timings are noisy", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **data})
    print(f"wrote {path}")
    return path


def testset(out: Path = WORK / "engine_test") -> Path:
    """24 engine cases (4 phases x 6 geometries), seeds disjoint from training/validation; resumable per case."""
    from medvlseg.data.phantom.benchmark import LABELS, CasePlan, build_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset
    from medvlseg.io import Case, Manifest
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    (out / "entries").mkdir(exist_ok=True)
    cases = []
    plans = list(product(PHASES, GEOMETRIES))
    for i, (phase, (fov, sxy, sz)) in enumerate(tqdm(plans, desc="engine test set", unit="case")):
        name, entry_path = f"case_{i:03d}", out / "entries" / f"case_{i:03d}.json"
        if not entry_path.is_file():
            cfg = get_synth_preset("small", contrast=phase, fov=(fov,), spacing_xy=sxy, spacing_z=sz,
                                   max_voxels=8_000_000)
            seed = int(np.random.SeedSequence([16, i, 7777]).generate_state(1)[0])
            entry = build_case(out, cfg, CasePlan(name, "test", seed, phase != "none", "both"), preview=False)
            entry_path.write_text(json.dumps(entry), encoding="utf-8")
        entry = json.loads(entry_path.read_text(encoding="utf-8"))
        cases.append(Case(name=name, split="test", image=out / entry["image"], label=out / entry["label"],
                          annotated="both", meta=entry["meta"]))
    manifest = Manifest(cases=cases, name="default-model-engine-test", labels=dict(LABELS), modality="CT",
                        description="engine test set of the default model: 4 contrast phases x 6 (field of view, "
                                    "voxel size) geometries, unseen seeds")
    return manifest.save(out / "dataset.json")


def predict_and_score(manifest: Path, out: Path, model: str | None = None) -> dict:
    """`medvlseg predict` (test split, --fast) then `medvlseg evaluate`; summary + per-case rows."""
    import csv

    from medvlseg.cli import main

    pred = out / "pred"
    args = ["predict", "-i", str(manifest), "-o", str(pred), "--split", "test", "--fast", "--no-progress"]
    t0 = time.perf_counter()
    code = main(args + (["-m", model] if model else []))  # 1: some cases failed; they are scored as misses
    seconds = time.perf_counter() - t0
    summary_path = pred / "predict_summary.json"
    predict_failed = json.loads(summary_path.read_text(encoding="utf-8")).get("failed", {}) if code else {}
    # exit 1 when predictions are missing (failed cases): they are scored as misses (Dice 0) and listed
    main(["evaluate", "--pred", str(pred), "--manifest", str(manifest), "--split", "test", "--out", str(out / "eval")])
    if not (out / "eval" / "summary.json").is_file():
        raise SystemExit(f"evaluate failed on {manifest}")
    summary = json.loads((out / "eval" / "summary.json").read_text(encoding="utf-8"))
    rows = list(csv.DictReader((out / "eval" / "metrics.csv").open(encoding="utf-8")))
    return {"summary": summary["classes"], "rows": rows, "predict_s": seconds, "failed": summary["failed"],
            "predict_failed": predict_failed, "missing_scored_as_miss": summary.get("missing", [])}


def _group_means(rows: list[dict], meta: dict[str, dict], key: str) -> dict:
    """Mean Dice per class grouped by a case meta key (phase, fov)."""
    groups: dict = {}
    for r in rows:
        g = str(meta[r["case"]][key])
        groups.setdefault(g, {}).setdefault(r["class"], []).append(float(r["dice"]))
    return {g: {c: round(float(np.mean(v)), 3) for c, v in d.items()} for g, d in groups.items()}


def engine() -> None:
    """Dice, clDice, HD95 on the engine test set, overall and per phase / field of view."""
    from medvlseg.io import Manifest

    manifest = testset()
    res = predict_and_score(manifest, WORK / "engine")
    meta = {c.name: c.meta for c in Manifest.load(manifest).cases}
    spacings = [m["spacing"] for m in meta.values()]
    save_result("engine_test", {"n_cases": len(meta), **res,
                                "per_phase": _group_means(res["rows"], meta, "phase"),
                                "per_fov": _group_means(res["rows"], meta, "fov"),
                                "spacing_mm_range": [float(np.min(spacings)), float(np.max(spacings))]},
                ".venv/bin/python experiments/default_model_eval.py engine")


def old() -> None:
    """The classic phantom generator's `small` preset, test split (never trained on)."""
    from medvlseg.data.phantom.benchmark import write_benchmark

    manifest = WORK / "old_small" / "dataset.json"
    if not manifest.is_file():
        write_benchmark(manifest.parent, "small", seed=0)
    res = predict_and_score(manifest, WORK / "old")
    save_result("old_phantoms", res, ".venv/bin/python experiments/default_model_eval.py old")


def real() -> None:
    """Share of the real CTA's pulmonary-trunk mask labelled artery / vein (../shared/tools/pa_trunk_check.py)."""
    import subprocess
    import sys

    from medvlseg.cli import main

    out = WORK / "real" / "pred.nii.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = {}
    for mode in ("default", "fast"):
        t0 = time.perf_counter()
        code = main(["predict", "-i", str(REAL_CT), "-o", str(out), "--overwrite", *(["--fast"] if mode == "fast" else [])])
        seconds = time.perf_counter() - t0
        if code != 0:
            raise SystemExit("predict failed on the real CT")
        check = subprocess.run([sys.executable, str(TRUNK_CHECK), str(out)], capture_output=True, text=True,
                               check=True).stdout.split()
        rows[mode] = {"pa_artery": float(check[1]), "pa_vein": float(check[3]), "predict_s": round(seconds, 1)}
    save_result("real_cta", rows, ".venv/bin/python experiments/default_model_eval.py real  (predict -i "
                "../shared/data/real/ts_chest_cta_pulm/ct.nii.gz -o pred.nii.gz [--fast]; "
                "../shared/tools/pa_trunk_check.py pred.nii.gz)")


def thorax() -> None:
    """Whole-thorax non-contrast 4 mm engine case (the demo's): predicts without error, both classes in both lungs."""
    import nibabel as nib

    from medvlseg.cli import main
    from medvlseg.demo import lung_presence, whole_thorax_case
    from medvlseg.eval.metrics import dice

    out = WORK / "thorax"
    out.mkdir(parents=True, exist_ok=True)
    ct, label, lung = whole_thorax_case(out)
    if main(["predict", "-i", str(ct), "-o", str(out / "pred.nii.gz"), "--overwrite"]) != 0:
        raise SystemExit("predict failed on the whole-thorax case")
    pred = np.asarray(nib.load(str(out / "pred.nii.gz")).dataobj)
    save_result("thorax_4mm", {"shape": list(label.shape), "presence": lung_presence(pred, lung),
                               "dice": {"artery": dice(pred == 1, label == 1), "vein": dice(pred == 2, label == 2)}},
                ".venv/bin/python experiments/default_model_eval.py thorax")


def speed() -> None:
    """End-to-end `medvlseg predict --fast` (a fresh process: start-up, checksums, load, read, predict, write) on a
    512x512x300 CT at 0.7 mm (classic `paper` phantom), 2 torch threads; plus bench_predict's stage breakdown."""
    import subprocess
    import sys

    import nibabel as nib

    from medvlseg.data.phantom import generate_case, get_preset

    out = WORK / "speed"
    out.mkdir(parents=True, exist_ok=True)
    ct = out / "ct.nii.gz"
    if not ct.is_file():
        cfg = get_preset("paper", shape=(512, 512, 300), spacing_xy=(0.7, 0.7), spacing_z=(0.7, 0.7))
        case = generate_case(cfg, seed=0, contrast=True)
        nib.save(nib.Nifti1Image(case.image.astype(np.int16), np.diag([0.7, 0.7, 0.7, 1.0])), str(ct))
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    cmd = [sys.executable, "-m", "medvlseg.cli", "predict", "-i", str(ct), "-o", str(out / "pred.nii.gz"), "--fast",
           "--overwrite"]
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        runs.append(round(time.perf_counter() - t0, 2))
    bench = out / "bench.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_predict.py"), "--model",
                    str(ROOT / "src" / "medvlseg" / "resources" / "models" / "default"), "--fast-only", "--json",
                    str(bench)], check=True, env=env)
    detail = json.loads(bench.read_text(encoding="utf-8"))
    save_result("speed", {"fast_total_s": min(runs), "fast_runs_s": runs, "fast_rss_gb": detail["fast_rss_gb"],
                          "stages": next(v for k, v in detail["modes"].items() if k.startswith("fast"))},
                ".venv/bin/python experiments/default_model_eval.py speed  (times `medvlseg predict -i ct.nii.gz -o "
                "pred.nii.gz --fast` twice in a fresh process on a 512x512x300 CT; stage breakdown and ratio vs a "
                "bare MONAI sliding window: benchmarks/bench_predict.py --model <default> --fast-only)")


def figures() -> None:
    """Overlays of the worst engine test cases (by mean Dice) and the 4 mm thorax into the model's figures/."""
    from medvlseg.eval.figures import save_overlay_png
    from medvlseg.io import Manifest, read_image
    from medvlseg.models.zoo import SHIPPED_ROOT

    res = json.loads((RESULTS / "engine_test.json").read_text(encoding="utf-8"))
    means: dict[str, list[float]] = {}
    for r in res["rows"]:
        means.setdefault(r["case"], []).append(float(r["dice"]))
    predicted = [c for c in means if (WORK / "engine" / "pred" / f"{c}.nii.gz").is_file()]  # failed: no picture
    worst = sorted(predicted, key=lambda c: np.mean(means[c]))[:3]
    cases = {c.name: c for c in Manifest.load(WORK / "engine_test" / "dataset.json").cases}
    fig_dir = SHIPPED_ROOT / "default" / "figures"
    for name in worst:
        case = cases[name]
        ct, pred, gt = (read_image(p) for p in (case.image, WORK / "engine" / "pred" / f"{name}.nii.gz", case.label))
        title = f"{name}: {case.meta['phase']} {case.meta['fov']} {case.meta['spacing'][0]:.1f} mm, Dice {np.mean(means[name]):.2f}"
        save_overlay_png(fig_dir / f"failure_{name}.png", ct.array, pred.array, ct.spacing, title, gt=gt.array)
    ct, pred = read_image(WORK / "thorax" / "ct.nii.gz"), read_image(WORK / "thorax" / "pred.nii.gz")
    save_overlay_png(fig_dir / "thorax_4mm_none.png", ct.array, pred.array, ct.spacing,
                     "whole thorax, non-contrast, 4 mm (prediction only)")
    print(f"figures in {fig_dir}")


def main() -> None:
    """Run one sub-command."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("testset", "engine", "old", "real", "thorax", "speed", "figures"))
    args = ap.parse_args()
    {"testset": testset, "engine": engine, "old": old, "real": real, "thorax": thorax, "speed": speed,
     "figures": figures}[args.command]()


if __name__ == "__main__":
    main()
