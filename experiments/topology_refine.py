"""`--refine none` vs `--refine topology` on a manifest split: topology metrics before/after, one command.

`.venv/bin/python experiments/topology_refine.py --run RUN --manifest DATASET.json [--split test] [--out DIR]`
predicts the split twice with the run (voxel-wise, then with the vessel-graph refinement), evaluates both with
`medvlseg evaluate`'s metrics and prints, per class, the mean over cases of Dice, clDice, skeleton recall,
av_accuracy, components and |β0 error|, the change, and the refinement's share of the predict time.
Writes DIR/<mode>/ (label maps), DIR/<mode>_eval/ (metrics.csv, summary.json, report.md) and DIR/summary.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from medvlseg.eval.evaluate import evaluate, write_outputs
from medvlseg.infer.batch import collect_inputs, run_batch
from medvlseg.infer.predictor import Predictor, PredictOptions
from medvlseg.utils.atomic import write_json

SHOWN = ("dice", "cldice", "skeleton_recall", "av_accuracy", "components", "betti0_error")


def run_mode(run: Path, manifest: Path, split: str, out: Path, mode: str, fast: bool) -> dict:
    """Predict the split with one --refine mode, evaluate it; summary + seconds per stage (summed over cases)."""
    predictor = Predictor.from_run(run, PredictOptions(refine=mode, fast=fast))
    stages: dict[str, float] = {}

    def predict(src: Path, dst: Path) -> None:
        for k, v in predictor.predict_file(src, dst).timings.items():
            stages[k] = stages.get(k, 0.0) + v

    t0 = time.perf_counter()
    batch = run_batch(predict, collect_inputs(manifest, split), out / mode, overwrite=True, progress=True)
    wall = time.perf_counter() - t0
    result = evaluate(out / mode, None, manifest, split=split, progress=False)
    write_outputs(out / f"{mode}_eval", result, {"pred": str(out / mode), "manifest": str(manifest), "classes": 3,
                                                 "split": split, "nsd_tolerance_mm": 1.0})
    return {"summary": result.summary, "stages_s": stages, "wall_s": wall, "failed": sorted(batch.failed)}


def main() -> None:
    """Both modes, then the before/after table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="training run folder")
    ap.add_argument("--manifest", type=Path, required=True, help="dataset.json of the cases")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", type=Path, default=Path("experiments/work/topology_refine"))
    ap.add_argument("--fast", action="store_true", help="predict --fast (2 mm working grid)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    res = {mode: run_mode(args.run, args.manifest, args.split, args.out, mode, args.fast)
           for mode in ("none", "topology")}
    print(f"{args.split} split of {args.manifest}; run {args.run}; mean over cases")
    print(f"{'class':8} {'metric':16} {'none':>9} {'topology':>9} {'change':>9}")
    for cls in res["none"]["summary"]:
        for m in SHOWN:
            a, b = res["none"]["summary"][cls][m]["mean"], res["topology"]["summary"][cls][m]["mean"]
            change = f"{b / a:8.2f}x" if m == "components" and a else f"{b - a:+9.3f}"
            print(f"{cls:8} {m:16} {a:9.3f} {b:9.3f} {change}")
    st = res["topology"]["stages_s"]
    total = sum(v for k, v in st.items())
    print(f"refine {st.get('refine', 0.0):.2f} s of predict {total:.2f} s (all cases) = "
          f"{st.get('refine', 0.0) / total:.1%}")
    write_json(args.out / "summary.json", res)


if __name__ == "__main__":
    main()
