"""End-to-end `predict` of an adult-size CT (phantom 512x512x300 at 0.7 mm) on CPU against the hardware's floor,
measured in the same run: reading the input file + writing a label map of its size (the I/O floor) + a bare MONAI
`sliding_window_inference` of the same network over the same working grid (same windows and overlap).

One command: `.venv/bin/python benchmarks/bench_predict.py [--model RUN_DIR] [--engines torch onnx openvino]
[--shape 512 512 300] [--threads 2]`.
Without --model, a light LACAF run is trained for a few steps on tiny phantoms preprocessed at --spacing mm
(weights do not change the timing). The run is copied and exported to ONNX in a temporary folder for the
onnx/openvino engines. Each (mode, engine) runs in its own spawned process: predict_file timed per stage, with
peak RSS per stage (sampled from /proc every 10 ms), then the floor on the same files. Printed per run: stages,
floor parts, ratio; the last line is `floor_ratio R` = --fast end-to-end time / floor for the first engine
(the CPU default first, by default).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path


class RssSampler:
    """Background sampler of this process's resident set size (GB) every `period` s, marked by stage name."""

    def __init__(self, period: float = 0.01) -> None:
        self.period, self.stage, self.peak = period, "start", {}  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm", encoding="ascii") as f:
            while not self._stop.is_set():
                f.seek(0)
                rss = int(f.read().split()[1]) * page / 1e9
                self.peak[self.stage] = max(self.peak.get(self.stage, 0.0), rss)
                time.sleep(self.period)

    def mark(self, stage: str) -> None:
        """Samples from now on count for `stage`."""
        self.stage = stage

    def stop(self) -> dict[str, float]:
        """Stop sampling; peak RSS (GB) per stage."""
        self._stop.set()
        self._thread.join()
        return dict(self.peak)


def _child(run: str, ct: str, out: str, fast: bool, engine: str, threads: int, q) -> None:  # noqa: ANN001
    """Spawned: full predict (timed and RSS-sampled per stage), then the floor: read, write, bare network."""
    import numpy as np
    import torch
    from monai.inferers import sliding_window_inference

    from medvlseg.data.preprocess import preprocess_image
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.io import read_image, write_image

    torch.set_num_threads(threads)
    rss = RssSampler()
    predictor = Predictor.from_run(run, PredictOptions(fast=fast, engine=engine))
    stage_of = _StageMarks(rss)
    t0 = time.perf_counter()
    pred = stage_of.run(lambda: predictor.predict_file(ct, out))
    total = time.perf_counter() - t0
    rss.mark("floor: read")
    t0 = time.perf_counter()
    volume = read_image(ct)
    read_s = time.perf_counter() - t0
    rss.mark("floor: write")
    t0 = time.perf_counter()
    write_image(Path(out).with_name("floor_labels.nii.gz"), pred.labels, like=volume, dtype=np.uint8)
    write_s = time.perf_counter() - t0
    prep = preprocess_image(volume, predictor.preprocess)
    x = torch.from_numpy(np.ascontiguousarray(prep.image))[None]
    del volume, pred.labels
    o = predictor.options
    rss.mark("floor: network")
    t0 = time.perf_counter()
    with torch.inference_mode():
        sliding_window_inference(x, predictor.roi, o.sw_batch_size, predictor.model, overlap=o.overlap,
                                 mode="gaussian")
    bare = time.perf_counter() - t0
    q.put({"total": total, "timings": pred.timings, "prep": prep.timings, "read": read_s, "write": write_s,
           "bare": bare, "grid": tuple(prep.image.shape[1:]), "roi": predictor.roi, "overlap": o.overlap,
           "engine": o.engine, "rss": rss.stop()})


class _StageMarks:
    """Marks the RSS sampler with predict's stages by wrapping the predictor's stage functions."""

    def __init__(self, rss: RssSampler) -> None:
        self.rss = rss

    def run(self, fn):  # noqa: ANN001, ANN201
        """Call `fn` with read/preprocess/inference/decide/write marked through patched stage entry points."""
        from medvlseg.infer import predictor as mod

        patched = {"read_image": "read", "preprocess_image": "preprocess", "sliding_probabilities": "inference",
                   "decide_on_grid": "decide", "write_image": "write", "write_label_map": "write"}
        saved = {name: getattr(mod, name) for name in patched}

        def wrap(name: str, stage: str):  # noqa: ANN202
            def inner(*a, **k):  # noqa: ANN002, ANN003, ANN202
                self.rss.mark(stage)
                return saved[name](*a, **k)
            return inner

        for name, stage in patched.items():
            setattr(mod, name, wrap(name, stage))
        try:
            return fn()
        finally:
            for name, f in saved.items():
                setattr(mod, name, f)


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
                                                 engine, args.threads, q))
            p.start()
            r = q.get()
            p.join()
            ratios[(fast, engine)] = _report(f"{'--fast ' if fast else 'default'} {engine}", r)
            results[f"{'fast' if fast else 'default'}_{engine}"] = {**r, "floor_ratio": ratios[(fast, engine)]}
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
