"""Benchmark the whole preprocessing of one adult-size CT: time per step and peak memory.

Run: `.venv/bin/python benchmarks/bench_preprocess.py [--shape 512 512 300] [--spacing 0.7] [--threads 2]
[--target-spacing 1.0 1.0 1.0]`
The CT is a non-contrast phantom (medvlseg.data.phantom) at --spacing mm; its 3-class label is converted too.
Preprocessing runs in a spawned process (peak RSS is that process's own, via resource.getrusage); the baseline
in the same run is the time to read the image from an .npy file and window it (the unavoidable I/O + one pass).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _child(src: str, lab: str, spacing: float, target: list[float] | None, threads: int, q) -> None:  # noqa: ANN001
    """Spawned: preprocess image + label like preprocess_case (without NIfTI decoding) and report timings."""
    import torch

    from medvlseg.io import Volume
    from medvlseg.data.labels import to_five_class
    from medvlseg.data.preprocess import PreprocessConfig, preprocess_image
    from medvlseg.data.resample import resize
    from medvlseg.data.window import window_hu

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    hu = np.load(src)
    window_hu(hu)
    baseline = time.perf_counter() - t0
    vol = Volume.from_canonical(hu, np.diag([spacing] * 3 + [1.0]))
    cfg = PreprocessConfig(target_spacing=tuple(target) if target else None)
    t0 = time.perf_counter()
    prep = preprocess_image(vol, cfg)
    t1 = time.perf_counter()
    label = resize(np.load(lab), prep.image.shape[1:], "nearest")
    five = to_five_class(label, prep.lung, prep.spacing)
    prep.timings["labels"] = time.perf_counter() - t1
    total = time.perf_counter() - t0
    q.put({"baseline": baseline, "total": total, "steps": prep.timings, "shape": prep.image.shape,
           "lungs": np.bincount(prep.lung.ravel(), minlength=3).tolist(), "classes": np.unique(five).tolist(),
           "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6})


def main() -> None:
    """Generate the phantom, preprocess it in a child process, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    ap.add_argument("--spacing", type=float, default=0.7, help="isotropic voxel size of the phantom, mm")
    ap.add_argument("--target-spacing", type=float, nargs=3, default=None, help="mm; default: keep the grid")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from medvlseg.data.phantom import generate_case, get_preset

    t0 = time.perf_counter()
    cfg = get_preset("paper", shape=tuple(args.shape), spacing_xy=(args.spacing,) * 2, spacing_z=(args.spacing,) * 2)
    case = generate_case(cfg, seed=0, contrast=False)
    print(f"phantom {case.image.shape} at {args.spacing} mm generated in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        src, lab = str(Path(tmp) / "ct.npy"), str(Path(tmp) / "label.npy")
        np.save(src, case.image)
        np.save(lab, case.label)
        del case
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_child, args=(src, lab, args.spacing, args.target_spacing, args.threads, q))
        p.start()
        res = q.get()
        p.join()
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in res["steps"].items())
    print(f"target spacing {args.target_spacing or 'native'} → image {tuple(res['shape'])}; threads {args.threads}")
    print(f"per step: {steps}")
    print(f"total {res['total']:.1f} s (baseline read + window {res['baseline']:.2f} s, "
          f"ratio {res['total'] / res['baseline']:.1f}x); peak RSS {res['rss_gb']:.2f} GB")
    print(f"lung voxels (outside, left, right): {res['lungs']}; 5-class labels present: {res['classes']}")


if __name__ == "__main__":
    main()
