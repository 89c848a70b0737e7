"""Does `train --init default` pay? Fine-tuning the shipped default model vs training the same recipe from scratch,
same number of steps, on a shifted data set with 4 labeled training cases, 3 seeds.

Shifted set: the classic phantom generator (`medvlseg phantom --preset small`: other drawing code, ellipsoid lungs,
a 2.3–2.8 mm grid, 40 % contrast) with 4 fully labeled training cases and 4 test cases (seed 1; the default model
never saw this generator). Both arms use the default model's recipe (configs/default.yaml as packaged: 2 mm grid,
light LACAF, MiniLM prompts); `finetune` starts from its weights (`--init default`), `scratch` from random ones.

One command: `.venv/bin/python experiments/default_finetune.py [--steps 60] [--seeds 0 1 2]`
→ docs/results/default_model/finetune.json (per arm and seed: test Dice artery/vein, train seconds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from default_model_eval import RESULTS, WORK, predict_and_score, save_result  # noqa: E402  (same folder)

SHIFTED = WORK / "finetune" / "shifted"


def shifted_set() -> Path:
    """The classic `small` phantoms, 4 labeled training + 4 test cases (written once)."""
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.phantom.presets import get_preset

    manifest = SHIFTED / "dataset.json"
    if not manifest.is_file():
        cfg = get_preset("small", n_train=4, n_train_full=4, n_val=0, n_test=4, preview=False)
        write_benchmark(SHIFTED, cfg, seed=1, name="small-shifted")
    return manifest


def run_arm(arm: str, seed: int, steps: int, manifest: Path) -> dict:
    """Train one arm (`medvlseg train`), predict and score the test split; its record."""
    from medvlseg.cli import main
    from medvlseg.models.zoo import resolve_model

    run = WORK / "finetune" / f"{arm}_seed{seed}"
    record_path = run / "record.json"
    if record_path.is_file():
        return json.loads(record_path.read_text(encoding="utf-8"))
    base = ["--init", "default"] if arm == "finetune" else ["--config", str(resolve_model("default") / "config.yaml")]
    args = ["train", *base, "--data", str(manifest), "--out", str(run), "--epochs", "1", "--steps-per-epoch",
            str(steps), "--seed", str(seed), "--val-every", "0", "--set", "warmup_epochs=0.1", "--no-progress"]
    t0 = time.perf_counter()
    if main(args) != 0:
        raise SystemExit(f"training failed: {' '.join(args)}")
    seconds = time.perf_counter() - t0
    res = predict_and_score(manifest, run / "test", model=str(run))
    dice = {c: res["summary"][c]["dice"]["mean"] for c in res["summary"]}
    record = {"arm": arm, "seed": seed, "steps": steps, "train_s": round(seconds, 1), "dice": dice,
              "command": "medvlseg " + " ".join(args)}
    record_path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def main() -> None:
    """Both arms x seeds; mean ± std Dice and the fine-tune gain in Dice points."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60, help="optimizer steps per run (both arms)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    manifest = shifted_set()
    records = [run_arm(arm, s, args.steps, manifest) for s in args.seeds for arm in ("finetune", "scratch")]
    table = {}
    for arm in ("finetune", "scratch"):
        sel = [r for r in records if r["arm"] == arm]
        for cls in sel[0]["dice"]:
            vals = np.array([r["dice"][cls] for r in sel], dtype=float)
            table.setdefault(arm, {})[cls] = {"mean": round(float(vals.mean()), 3),
                                              "std": round(float(vals.std(ddof=1)) if len(vals) > 1 else 0.0, 3)}
    gain = {cls: round(100 * (table["finetune"][cls]["mean"] - table["scratch"][cls]["mean"]), 1)
            for cls in table["finetune"]}
    save_result("finetune", {"steps": args.steps, "seeds": args.seeds, "table": table, "gain_dice_points": gain,
                             "runs": records, "target": "fine-tune beats scratch by >= 10 Dice points"},
                f".venv/bin/python experiments/default_finetune.py --steps {args.steps} --seeds "
                + " ".join(map(str, args.seeds)))
    print(json.dumps({"table": table, "gain_dice_points": gain}, indent=2))


if __name__ == "__main__":
    RESULTS.mkdir(parents=True, exist_ok=True)
    main()
