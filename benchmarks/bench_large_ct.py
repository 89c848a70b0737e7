"""Peak memory of `predict --fast` on large CTs (512x512x800, 1024x1024x600, 1024x1024x800) against a 256x256x200
baseline in the same run, each in its own spawned process: peak RSS per stage (read, preprocess, inference,
decide, write; sampled from /proc every 10 ms) and the process's lifetime peak (getrusage), plus swap in use.
Target (issue 21): 1024x1024x800 within 6 GB, no swap.

One command: `.venv/bin/python benchmarks/bench_large_ct.py [--model RUN_DIR] [--sizes 1024x1024x800 ...]`
(without --sizes: all of them; the shipped default model with --model default).
Without --model a light LACAF run is trained for 3 steps on tiny phantoms preprocessed at 2.5 mm (the demo
model's grid; weights do not change memory). The CTs are synthetic chests (body, two lungs, noise; int16 HU,
uncompressed NIfTI) written slice by slice so the generator itself stays small. Issue 18: a 24 GB machine must not
kill these runs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

SIZES = {"256x256x200": ((256, 256, 200), (1.4, 1.4, 1.5)), "512x512x800": ((512, 512, 800), (0.7, 0.7, 0.4)),
         "1024x1024x600": ((1024, 1024, 600), (0.35, 0.35, 0.5)),
         "1024x1024x800": ((1024, 1024, 800), (0.35, 0.35, 0.4))}


def synth_ct(path: Path, shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> Path:
    """A chest-like int16 CT (HU): air, elliptic body (40 HU), two lung ellipsoids (-850 HU), noise σ 20 HU."""
    import nibabel as nib
    import numpy as np

    nx, ny, nz = shape
    rng = np.random.default_rng(0)
    data = np.full(shape, -1000, dtype=np.int16)
    x = (np.arange(nx)[:, None] - nx / 2) / (0.45 * nx)
    y = (np.arange(ny)[None, :] - ny / 2) / (0.38 * ny)
    body = x ** 2 + y ** 2 <= 1
    for k in range(nz):
        t = (k - 0.5 * nz) / (0.45 * nz)
        sl = np.where(body, 40, -1000).astype(np.int16)
        if abs(t) < 1:
            for cx in (-0.45, 0.45):
                lung = ((x - cx) / 0.35) ** 2 + (y / 0.7) ** 2 + t ** 2 <= 1
                sl[lung] = -850
        data[:, :, k] = sl + rng.normal(0, 20, (nx, ny)).astype(np.int16)
    nib.save(nib.Nifti1Image(data, np.diag([*spacing, 1.0])), str(path))
    return path


def _child(run: str, ct: str, out: str, q) -> None:  # noqa: ANN001
    """Spawned: predict --fast of one CT through `Predictor.predict_file` (what the CLI runs), RSS per stage."""
    from medvlseg.infer import predictor as mod
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.utils.profiling import RssSampler, peak_rss_gb, stage_marks

    rss = RssSampler()
    t0 = time.perf_counter()
    predictor = Predictor.from_run(run, PredictOptions(fast=True))
    with stage_marks(rss, mod):
        pred = predictor.predict_file(ct, out)
    q.put({"seconds": time.perf_counter() - t0, "rss_gb": peak_rss_gb(), "stages": rss.stop(),
           "engine": predictor.options.engine, "timings": pred.timings, "swap_mb": _swap_used_mb()})


def _swap_used_mb() -> float:
    """System swap in use (MB, /proc/meminfo)."""
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return (int(info["SwapTotal"].split()[0]) - int(info["SwapFree"].split()[0])) / 1024


def _make_run(tmp: Path) -> Path:
    """A light LACAF run (3 steps) on tiny phantoms preprocessed at 2.5 mm."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.preprocess import PreprocessConfig
    from medvlseg.train.config import TrainConfig
    from medvlseg.train.trainer import Trainer

    manifest = write_benchmark(tmp / "ph", "tiny", seed=0)
    build_cache(manifest, tmp / "cache", PreprocessConfig(target_spacing=(2.5,) * 3), progress=False)
    cfg = TrainConfig(preset="lacaf", light=True, patch_size=48, batch_size=1, epochs=1, steps_per_epoch=3,
                      num_workers=0, val_every=0, device="cpu")
    Trainer(cfg, tmp / "cache", tmp / "run", progress=False).fit()
    return tmp / "run"


def _swap_total_mb() -> float:
    """System swap size (MB)."""
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return int(info["SwapTotal"].split()[0]) / 1024


def main() -> None:
    """Baseline first, then each large size; prints time, peak RSS and the ratio to the baseline."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="run folder (default: a light LACAF trained here for 3 steps)")
    ap.add_argument("--sizes", nargs="*", default=list(SIZES), help=f"names from {list(SIZES)}")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        run = Path(args.model) if args.model else _make_run(tmp)
        if str(run) == "default":
            from medvlseg.models.zoo import resolve_model

            run = resolve_model(None)
        print(f"model {run}; swap total {_swap_total_mb():.0f} MB", flush=True)
        base = None
        for name in ["256x256x200", *[s for s in args.sizes if s != "256x256x200"]]:
            shape, spacing = SIZES[name]
            ct = synth_ct(tmp / f"{name}.nii", shape, spacing)
            q = ctx.Queue()
            p = ctx.Process(target=_child, args=(str(run), str(ct), str(tmp / f"{name}_pred.nii.gz"), q))
            p.start()
            r = q.get()
            p.join()
            base = base or r["rss_gb"]
            voxels = shape[0] * shape[1] * shape[2] / 1e6
            stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
            times = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
            print(f"{name} ({voxels:.0f} M voxels, {spacing} mm, int16 {voxels * 2 / 1000:.2f} GB): engine "
                  f"{r['engine']}, {r['seconds']:.0f} s ({times} s), peak RSS {r['rss_gb']:.2f} GB "
                  f"({r['rss_gb'] / base:.2f}x the 256x256x200 baseline); per stage GB: {stages}; swap in use "
                  f"{r['swap_mb']:.0f} MB", flush=True)
            ct.unlink()


if __name__ == "__main__":
    main()
