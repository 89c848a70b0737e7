"""`--refine topology` on unseen engine cases with the shipped default model: one network pass, cached, then every
refinement scored from the cache; results in docs/results/topology/ (json + md, per case, paired test, command).

  nice .venv/bin/python experiments/topology_engine.py testset   # 16 engine cases (4 phases x 4 fields of view)
  nice .venv/bin/python experiments/topology_engine.py predict   # shipped default model, --fast, probabilities kept
  nice .venv/bin/python experiments/topology_engine.py score     # none vs topology (+ oracle-noised evidence)
  .venv/bin/python experiments/topology_engine.py report         # README.md again from the saved JSONs

Work files (cases, cached predictions) go to experiments/work/topology_engine/ (not committed). Seeds come from
SeedSequence([17, i, salt]): disjoint from the stream's training seeds ([seed, rank, index, 1515]), its validation
seeds ([seed, 2020, i]) and the default model's engine test set ([16, i, 7777]).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "experiments" / "work" / "topology_engine"
PHASES = ("none", "arterial", "venous", "random")
# (field of view, in-plane spacing range mm, slice spacing range mm): with and without the heart in the field
GEOMETRIES = (("cta", (1.5, 2.0), (1.5, 2.0)), ("one_lung", (2.0, 2.5), (2.0, 2.5)),
              ("thorax", (2.5, 3.0), (2.5, 3.0)), ("bases", (2.0, 2.5), (2.0, 2.5)))


def testset(out: Path = WORK / "cases", salt: int = 1717) -> Path:
    """16 engine cases (4 phases x 4 fields of view), unseen seeds; resumable per case; returns dataset.json.
    `salt` 1718 builds the tuning (validation) set the refinement weights were chosen on, never the test set."""
    from tqdm import tqdm

    from medvlseg.data.phantom.benchmark import LABELS, CasePlan, build_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset
    from medvlseg.io import Case, Manifest

    (out / "entries").mkdir(parents=True, exist_ok=True)
    cases = []
    for i, (phase, (fov, sxy, sz)) in enumerate(tqdm(list(product(PHASES, GEOMETRIES)), desc="cases", unit="case")):
        name, entry_path = f"topo_{i:03d}", out / "entries" / f"topo_{i:03d}.json"
        if not entry_path.is_file():
            cfg = get_synth_preset("small", contrast=phase, fov=(fov,), spacing_xy=sxy, spacing_z=sz,
                                   max_voxels=1_000_000)
            seed = int(np.random.SeedSequence([17, i, salt]).generate_state(1)[0])
            entry = build_case(out, cfg, CasePlan(name, "test", seed, phase != "none", "both"), preview=False)
            entry_path.write_text(json.dumps(entry), encoding="utf-8")
        entry = json.loads(entry_path.read_text(encoding="utf-8"))
        cases.append(Case(name=name, split="test", image=out / entry["image"], label=out / entry["label"],
                          annotated="both", meta=entry["meta"]))
    manifest = Manifest(cases=cases, name="topology-engine-test", labels=dict(LABELS), modality="CT",
                        description="unseen engine cases for the topology refinement: 4 phases x 4 fields of view")
    return manifest.save(out / "dataset.json")


def predict(manifest: Path = WORK / "cases" / "dataset.json", out: Path = WORK / "pred") -> None:
    """Shipped default model, `predict --fast --probabilities --refine none`, once per case (cached)."""
    import torch
    from tqdm import tqdm

    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.io import Manifest
    from medvlseg.models.zoo import resolve_model

    torch.set_num_threads(1)
    predictor = Predictor.from_run(resolve_model(None), PredictOptions(fast=True, probabilities=True))
    out.mkdir(parents=True, exist_ok=True)
    for case in tqdm(Manifest.load(manifest).split("test"), desc="predict", unit="case"):
        dst = out / f"{case.name}.nii.gz"
        if not dst.is_file():
            predictor.predict_file(case.image, dst)


def main() -> None:
    """Dispatch the sub-command."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("testset", "predict", "score", "report"))
    ap.add_argument("--tuning", action="store_true", help="the tuning set (other seeds) instead of the test set")
    ap.add_argument("--oracle-flip", type=float, nargs="+", default=[0.3, 0.1],
                    help="oracle: shares of truth segments flipped (one experiment each)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = WORK / "tuning" if args.tuning else WORK
    if args.step == "testset":
        print(testset(work / "cases", 1718 if args.tuning else 1717))
    elif args.step == "predict":
        predict(work / "cases" / "dataset.json", work / "pred")
    else:
        from topology_score import rewrite_report, score  # experiments/topology_score.py (same folder)

        out = ROOT / "docs" / "results" / "topology"
        out = out / "tuning" if args.tuning else out
        if args.step == "report":
            rewrite_report(out, tuple(args.oracle_flip))
        else:
            score(work, out, tuple(args.oracle_flip))


if __name__ == "__main__":
    main()
