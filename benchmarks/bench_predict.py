"""End-to-end `predict` of an adult-size CT (phantom 512x512x300 at 0.7 mm) on CPU against the hardware's floor,
measured in the same run: reading the input file + writing a label map of its size (the I/O floor) + a bare MONAI
`sliding_window_inference` of the same network over the same working grid (same windows and overlap).

One command: `.venv/bin/python benchmarks/bench_predict.py [--model RUN_DIR] [--engines torch onnx openvino]
[--shape 512 512 300] [--threads 2] [--repeats N] [--ct CT.nii.gz] [--fast-only] [--json OUT.json]`.
Without --model, a light LACAF run is trained for a few steps on tiny phantoms preprocessed at --spacing mm
(weights do not change the timing). The run is copied and exported to ONNX in a temporary folder for the
onnx/openvino engines. Each (mode, engine) runs in its own spawned process: predict_file timed per stage, with
peak RSS per stage (sampled from /proc every 10 ms), then the floor on the same files, `--repeats` rounds
alternating; predict's figures are its fastest round, the floor's its fastest round (sums, not per-part minima;
the machine is shared: alternation keeps both under the same load).
Printed per run: stages, floor parts, ratio; each non-torch engine's label agreement with torch on vessel voxels;
the last line is `floor_ratio R` = --fast end-to-end time / floor for the first engine (the CPU default first,
by default).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from pathlib import Path


def _child(run: str, ct: str, out: str, fast: bool, engine: str, threads: int, repeats: int, q) -> None:  # noqa: ANN001
    """Spawned: `repeats` rounds of full predict (timed and RSS-sampled per stage), then the floor (read, write,
    bare network); each figure is its fastest round (rounds alternate, so both see the same load)."""
    import torch

    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.utils.profiling import RssSampler

    torch.set_num_threads(threads)
    rss = RssSampler()
    predictor = Predictor.from_run(run, PredictOptions(fast=fast, engine=engine))
    rounds = [_round(predictor, ct, out, rss) for _ in range(repeats)]
    fastest = min(rounds, key=lambda r: r["total"])
    low = min(rounds, key=lambda r: r["read"] + r["write"] + r["bare"])  # the fastest floor, as one round
    floor = {k: low[k] for k in ("read", "write", "bare")}
    o = predictor.options
    q.put({**fastest, **floor, "roi": predictor.roi, "overlap": o.overlap, "engine": o.engine, "rounds": repeats,
           "rss": rss.stop()})


def _round(predictor, ct: str, out: str, rss) -> dict:  # noqa: ANN001
    """One predict_file of `ct` (seconds per stage), then the floor parts (seconds) on the same files."""
    import numpy as np
    import torch
    from monai.inferers import sliding_window_inference

    from medvlseg.data.preprocess import preprocess_image
    from medvlseg.infer import predictor as mod
    from medvlseg.io import read_image, write_image
    from medvlseg.utils.profiling import stage_marks

    t0 = time.perf_counter()
    with stage_marks(rss, mod):
        pred = predictor.predict_file(ct, out)
    total = time.perf_counter() - t0
    rss.mark("floor: read")
    t0 = time.perf_counter()
    volume = read_image(ct)
    read_s = time.perf_counter() - t0
    rss.mark("floor: write")
    t0 = time.perf_counter()
    write_image(Path(out).with_name("floor_labels.nii.gz"), pred.labels, like=volume, dtype=np.uint8)
    write_s = time.perf_counter() - t0
    prep = preprocess_image(volume, predictor.preprocess, sides_required=False)
    x = torch.from_numpy(np.ascontiguousarray(prep.image))[None]
    del volume, pred.labels
    o = predictor.options
    rss.mark("floor: network")
    t0 = time.perf_counter()
    with torch.inference_mode():
        sliding_window_inference(x, predictor.roi, o.sw_batch_size, predictor.model, overlap=o.overlap,
                                 mode="gaussian")
    bare = time.perf_counter() - t0
    return {"total": total, "timings": pred.timings, "prep": prep.timings, "read": read_s, "write": write_s,
            "bare": bare, "grid": tuple(prep.image.shape[1:])}


def _result(q, p) -> dict:  # noqa: ANN001
    """The child's result; SystemExit when the child died without one (its traceback is on stderr)."""
    import queue

    while True:
        try:
            r = q.get(timeout=5)
            p.join()
            return r
        except queue.Empty:
            if not p.is_alive():
                raise SystemExit(f"benchmark child exited with code {p.exitcode} without a result") from None


def _agreement(a: Path, b: Path) -> float:
    """Fraction of vessel voxels (labelled in either file) with the same label in both label maps."""
    import nibabel as nib
    import numpy as np

    la, lb = (np.asarray(nib.load(str(p)).dataobj) for p in (a, b))
    vessel = (la > 0) | (lb > 0)
    return float((la[vessel] == lb[vessel]).mean()) if vessel.any() else 1.0


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


def _exported_copy(run: Path, tmp: Path) -> Path:
    """A copy of the run folder with its ONNX export (the user's run folder is left untouched)."""
    from medvlseg.infer.export import export_run

    work = tmp / "run_export"
    shutil.copytree(run, work, ignore=shutil.ignore_patterns("*.onnx", "*.onnx.json"))
    export_run(work, "onnx")
    return work


def _report(label: str, r: dict) -> float:
    """Print one (mode, engine) result; returns its floor ratio."""
    t = r["timings"]
    floor = r["read"] + r["write"] + r["bare"]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in t.items())
    prep = ", ".join(f"{k} {v:.1f}" for k, v in r["prep"].items())
    peaks = ", ".join(f"{k} {v:.2f}" for k, v in r["rss"].items())
    print(f"{label}: engine {r['engine']}, working grid {r['grid']}, window {r['roi']}, overlap {r['overlap']}; "
          f"predict total {r['total']:.1f} s ({stages}; preprocess parts: {prep})")
    print(f"    floor {floor:.1f} s = read {r['read']:.1f} + write {r['write']:.1f} + bare network "
          f"{r['bare']:.1f} s; ratio {r['total'] / floor:.2f}x; network ours/bare "
          f"{t['inference'] / r['bare']:.2f}x; peak RSS GB per stage: {peaks}")
    return r["total"] / floor


def _phantom_ct(path: Path, shape: tuple[int, ...], spacing: float) -> Path:
    """Write the paper-preset contrast phantom of `shape` voxels at `spacing` mm as int16 NIfTI (HU)."""
    import nibabel as nib
    import numpy as np

    from medvlseg.data.phantom import generate_case, get_preset

    cfg = get_preset("paper", shape=shape, spacing_xy=(spacing,) * 2, spacing_z=(spacing,) * 2)
    case = generate_case(cfg, seed=0, contrast=True)
    nib.save(nib.Nifti1Image(case.image.astype(np.int16), np.diag([spacing] * 3 + [1.0])), str(path))
    return path


def main() -> None:
    """Generate the CT, run each (mode, engine) in a child process, print the figures and the floor ratio."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="run folder (default: a light LACAF trained here for 3 steps)")
    ap.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    ap.add_argument("--ct-spacing", type=float, default=0.7, help="phantom voxel size, mm")
    ap.add_argument("--spacing", type=float, default=1.5, help="working spacing of the trained run, mm")
    ap.add_argument("--engines", nargs="+", default=None, choices=("torch", "onnx", "openvino"),
                    help="--fast engines to time (default: the CPU default first, then the others)")
    ap.add_argument("--no-default-mode", action="store_true", help="skip the default (non --fast) mode")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="rounds of predict + floor per run; fastest of each")
    ap.add_argument("--fast-only", action="store_true", help="time --fast only (the shipped model's speed target)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--ct", default=None, help="reuse this CT file instead of generating the phantom (~90 s)")
    args = ap.parse_args()
    from medvlseg.infer.engines import CPU_DEFAULT

    engines = args.engines or [CPU_DEFAULT] + [e for e in ("torch", "onnx", "openvino") if e != CPU_DEFAULT]
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        run = Path(args.model) if args.model else _make_run(tmp, args.spacing)
        if any(e != "torch" for e in engines):
            run = _exported_copy(run, tmp)
        ct = Path(args.ct) if args.ct else _phantom_ct(tmp / "ct.nii.gz", tuple(args.shape), args.ct_spacing)
        print(f"CT {ct} {tuple(args.shape)} at {args.ct_spacing} mm; run {run}; {args.threads} threads; "
              f"load average {os.getloadavg()[0]:.1f}")
        ctx = mp.get_context("spawn")
        no_default = args.no_default_mode or args.fast_only
        runs = [(True, e) for e in engines] + ([] if no_default else [(False, engines[0])])
        ratios, results = {}, {}
        for fast, engine in runs:
            q = ctx.Queue()
            p = ctx.Process(target=_child, args=(str(run), str(ct), str(tmp / f"out_{fast}_{engine}.nii.gz"), fast,
                                                 engine, args.threads, args.repeats, q))
            p.start()
            r = _result(q, p)
            ratios[(fast, engine)] = _report(f"{'--fast ' if fast else 'default'} {engine}", r)
            results[f"{'fast' if fast else 'default'}_{engine}"] = {**r, "floor_ratio": ratios[(fast, engine)]}
        if "torch" in engines:
            for engine in (e for e in engines if e != "torch"):
                same = _agreement(tmp / "out_True_torch.nii.gz", tmp / f"out_True_{engine}.nii.gz")
                results[f"fast_{engine}"]["agreement_with_torch"] = same
                print(f"--fast {engine} labels vs torch: {100 * same:.3f} % of vessel voxels agree")
        if args.json:
            import json
            import sys

            fast0 = results[f"fast_{engines[0]}"]
            out = {"command": "python " + " ".join(sys.argv), "ct_shape": list(args.shape),
                   "ct_spacing_mm": args.ct_spacing, "threads": args.threads, "modes": results,
                   "fast_total_s": fast0["total"], "fast_rss_gb": max(fast0["rss"].values())}
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=2, default=list), encoding="utf-8")
        if not no_default:
            print(f"default-mode floor_ratio {ratios[(False, engines[0])]:.2f} ({engines[0]})")
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"floor_ratio {ratios[(True, engines[0])]:.2f}")


if __name__ == "__main__":
    main()
