"""End-to-end `predict` of an adult-size CT (phantom 512x512x300 at 0.7 mm) on CPU, default and --fast, against
a bare MONAI `sliding_window_inference` of the same network on the same preprocessed tensor, in one run.

One command: `.venv/bin/python benchmarks/bench_predict.py [--model RUN_DIR] [--threads 2]`.
Without --model, a light LACAF run is trained for a few steps on tiny phantoms preprocessed at
--spacing mm (weights do not change the timing). Each mode runs in its own spawned process; peak RSS is that
process's own. Ratios: ours (inference + labels decided on the input grid, post-processing included) / bare
sliding window; and the full predict (read → preprocess → … → write) per mode.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path


def _child(run: str, ct: str, out: str, fast: bool, threads: int, q) -> None:  # noqa: ANN001
    """Spawned: full predict (timed per stage), then the bare sliding window on the same preprocessed tensor."""
    import numpy as np
    import torch
    from monai.inferers import sliding_window_inference

    from medvlseg.data.preprocess import preprocess_image
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.io import read_image

    torch.set_num_threads(threads)
    predictor = Predictor.from_run(run, PredictOptions(fast=fast))
    t0 = time.perf_counter()
    pred = predictor.predict_file(ct, out)
    total = time.perf_counter() - t0
    prep = preprocess_image(read_image(ct), predictor.preprocess)
    x = torch.from_numpy(np.ascontiguousarray(prep.image))[None]
    o = predictor.options
    t0 = time.perf_counter()
    with torch.inference_mode():
        sliding_window_inference(x, predictor.roi, o.sw_batch_size, predictor.model, overlap=o.overlap,
                                 mode="gaussian")
    bare = time.perf_counter() - t0
    q.put({"total": total, "timings": pred.timings, "bare": bare, "grid": tuple(prep.image.shape[1:]),
           "roi": predictor.roi, "overlap": o.overlap, "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6})


def _make_run(tmp: Path, spacing: float) -> Path:
    """A light LACAF run (3 steps) whose preprocessing resamples to `spacing` mm."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.preprocess import PreprocessConfig
    from medvlseg.train.config import TrainConfig
    from medvlseg.train.trainer import Trainer

    manifest = write_benchmark(tmp / "ph", "tiny", seed=0)
    build_cache(manifest, tmp / "cache", PreprocessConfig(target_spacing=(spacing,) * 3), progress=False)
    cfg = TrainConfig(preset="lacaf", light=True, patch_size=64, batch_size=1, epochs=1, steps_per_epoch=3,
                      num_workers=0, val_every=0, device="cpu")
    Trainer(cfg, tmp / "cache", tmp / "run", progress=False).fit()
    return tmp / "run"


def main() -> None:
    """Generate the CT, run both modes in child processes, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="run folder (default: a light LACAF trained here for 3 steps)")
    ap.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    ap.add_argument("--ct-spacing", type=float, default=0.7, help="phantom voxel size, mm")
    ap.add_argument("--spacing", type=float, default=1.5, help="working spacing of the trained run, mm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fast-only", action="store_true", help="time --fast only (the shipped model's speed target)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    import numpy as np

    from medvlseg.data.phantom import generate_case, get_preset
    from medvlseg.io.image import write_image  # noqa: F401  (ensures the I/O stack imports before timing)

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        run = Path(args.model) if args.model else _make_run(tmp, args.spacing)
        cfg = get_preset("paper", shape=tuple(args.shape), spacing_xy=(args.ct_spacing,) * 2,
                         spacing_z=(args.ct_spacing,) * 2)
        case = generate_case(cfg, seed=0, contrast=True)
        import nibabel as nib

        ct = tmp / "ct.nii.gz"
        nib.save(nib.Nifti1Image(case.image.astype(np.int16), np.diag([args.ct_spacing] * 3 + [1.0])), str(ct))
        del case
        print(f"CT {tuple(args.shape)} at {args.ct_spacing} mm; run {run}; {args.threads} threads")
        ctx = mp.get_context("spawn")
        results = {}
        for fast in ((True,) if args.fast_only else (False, True)):
            q = ctx.Queue()
            p = ctx.Process(target=_child, args=(str(run), str(ct), str(tmp / f"out_{fast}.nii.gz"), fast,
                                                 args.threads, q))
            p.start()
            r = q.get()
            p.join()
            t = r["timings"]
            ours = t["inference"] + t["decide"]
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
            print(f"{'--fast ' if fast else 'default'}: working grid {r['grid']}, window {r['roi']}, overlap "
                  f"{r['overlap']}; predict total {r['total']:.1f} s ({stages})")
            print(f"         bare sliding_window_inference {r['bare']:.1f} s; ours (inference + decide) "
                  f"{ours:.1f} s → ratio {ours / r['bare']:.2f}x; peak RSS {r['rss_gb']:.2f} GB")
            results["fast" if fast else "default"] = {**r, "ratio_vs_bare": ours / r["bare"]}
        if args.json:
            import json
            import sys

            out = {"command": "python " + " ".join(sys.argv), "ct_shape": list(args.shape),
                   "ct_spacing_mm": args.ct_spacing, "threads": args.threads, "modes": results}
            if "fast" in results:
                out.update(fast_total_s=results["fast"]["total"], fast_rss_gb=results["fast"]["rss_gb"])
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=2, default=list), encoding="utf-8")


if __name__ == "__main__":
    main()
