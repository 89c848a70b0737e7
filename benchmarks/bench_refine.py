"""Time and peak memory of `--refine topology` against `predict --fast` on an adult-size CT, in one run.

One command: `.venv/bin/python benchmarks/bench_refine.py [--model RUN_DIR] [--threads 2]`.
The CT is the phantom 512x512x300 at 0.7 mm that benchmarks/bench_predict.py builds; without --model a light
LACAF is trained for 3 steps (weights change the vessel mask, so give a trained run for representative figures).
Two spawned processes: `predict --fast` (baseline) and `predict --fast --refine topology`; each reports its
stage timings and its own peak RSS. Ratio printed: refine stage / whole baseline predict (read → write).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path


def _child(run: str, ct: str, out: str, refine: str, threads: int, q) -> None:  # noqa: ANN001
    """Spawned: one `predict --fast` with the given --refine, timed per stage."""
    import torch

    from medvlseg.infer.predictor import Predictor, PredictOptions

    torch.set_num_threads(threads)
    predictor = Predictor.from_run(run, PredictOptions(fast=True, refine=refine))
    t0 = time.perf_counter()
    pred = predictor.predict_file(ct, out)
    q.put({"total": time.perf_counter() - t0, "timings": pred.timings, "vessel_voxels": int((pred.labels > 0).sum()),
           "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6})


def main() -> None:
    """Build the CT, run both modes in child processes, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="run folder (default: a light LACAF trained here for 3 steps)")
    ap.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    ap.add_argument("--ct-spacing", type=float, default=0.7, help="phantom voxel size, mm")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import nibabel as nib
    import numpy as np

    from bench_predict import _make_run  # noqa: PLC0415  (same folder: the CT/run recipe is shared)
    from medvlseg.data.phantom import generate_case, get_preset

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        run = Path(args.model) if args.model else _make_run(tmp, 1.5)
        cfg = get_preset("paper", shape=tuple(args.shape), spacing_xy=(args.ct_spacing,) * 2,
                         spacing_z=(args.ct_spacing,) * 2)
        case = generate_case(cfg, seed=0, contrast=True)
        ct = tmp / "ct.nii.gz"
        nib.save(nib.Nifti1Image(case.image.astype(np.int16), np.diag([args.ct_spacing] * 3 + [1.0])), str(ct))
        del case
        print(f"CT {tuple(args.shape)} at {args.ct_spacing} mm; run {run}; {args.threads} threads; predict --fast")
        ctx = mp.get_context("spawn")
        res = {}
        for refine in ("none", "topology"):
            q = ctx.Queue()
            p = ctx.Process(target=_child, args=(str(run), str(ct), str(tmp / f"{refine}.nii.gz"), refine,
                                                 args.threads, q))
            p.start()
            res[refine] = q.get()
            p.join()
            r = res[refine]
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["timings"].items())
            print(f"--refine {refine}: predict total {r['total']:.1f} s ({stages}); {r['vessel_voxels']} vessel "
                  f"voxels; peak RSS {r['rss_gb']:.2f} GB")
        refine_s = res["topology"]["timings"].get("refine", 0.0)
        print(f"refine {refine_s:.1f} s / predict --fast {res['none']['total']:.1f} s → ratio "
              f"{refine_s / res['none']['total']:.2f} (target ≤ 0.25); peak RSS {res['none']['rss_gb']:.2f} → "
              f"{res['topology']['rss_gb']:.2f} GB")


if __name__ == "__main__":
    main()
