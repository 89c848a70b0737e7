"""Benchmark HD95 + NSD of medvlseg.eval against MONAI's metrics on the same large masks, in one run.

Run: `.venv/bin/python benchmarks/bench_metrics.py [--shape 512 512 300] [--spacing 0.7 0.7 1.0] [--tol 1.0]`
Masks: seeded random smooth tubes (the intersection of two thin shells of smooth random fields, vessel-like
curved tubes spread through the volume) plus smooth blobs; the prediction perturbs the fields slightly. MONAI:
`HausdorffDistanceMetric(percentile=95)` then `SurfaceDiceMetric` (each computes its own surfaces and distances,
as a user would call them). Ours: `surface_distances` once, then `hd95` and `nsd` (what `medvlseg evaluate`
does), and also each metric from scratch. Each method runs in its own spawned process (peak RSS per method via
resource.getrusage, 2 torch/BLAS threads); prints wall times, the speed-up ratio, peak memory and the values.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_rss_gb() -> float:
    """Peak resident set size of this process, GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _field(rng: np.random.Generator, shape: tuple[int, ...], factor: int, sigma: float) -> np.ndarray:
    """Smooth random float32 field of `shape`: Gaussian-filtered noise on a coarse grid, linearly upsampled."""
    from scipy import ndimage

    coarse = [int(np.ceil(n / factor)) + 1 for n in shape]
    small = ndimage.gaussian_filter(rng.standard_normal(coarse).astype(np.float32), sigma)
    small /= small.std()
    big = ndimage.zoom(small, factor, order=1)  # (coarse * factor)
    return np.ascontiguousarray(big[: shape[0], : shape[1], : shape[2]])


def make_masks(shape: tuple[int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (pred, gt) boolean masks: curved tubes + blobs; pred = slightly perturbed fields."""
    rng = np.random.default_rng(seed)
    f1, f2, f3 = (_field(rng, shape, 8, 1.5) for _ in range(3))
    n1, n2, n3 = (_field(rng, shape, 8, 1.0) for _ in range(3))
    width = 0.12
    gt = (np.abs(f1) < width) & (np.abs(f2) < width) | (f3 > 2.3)
    pred = (np.abs(f1 + 0.03 * n1) < width) & (np.abs(f2 + 0.03 * n2) < width) | (f3 + 0.08 * n3 > 2.3)
    return pred, gt


def _child_ours(src: str, spacing: list[float], tol: float, q) -> None:  # noqa: ANN001
    """Child: our HD95 + NSD from one shared distance computation, then each metric from scratch."""
    from medvlseg.eval.surface import hd95, nsd, surface_distances

    pred, gt = np.load(f"{src}/pred.npy"), np.load(f"{src}/gt.npy")
    t0 = time.perf_counter()
    dist = surface_distances(pred, gt, spacing)
    h, n = hd95(dist), nsd(dist, tol)
    t_shared = time.perf_counter() - t0
    t0 = time.perf_counter()
    hd95(surface_distances(pred, gt, spacing))
    t_hd = time.perf_counter() - t0
    t0 = time.perf_counter()
    nsd(surface_distances(pred, gt, spacing), tol)
    t_nsd = time.perf_counter() - t0
    q.put({"hd95": h, "nsd": n, "t_shared": t_shared, "t_hd": t_hd, "t_nsd": t_nsd, "rss": _peak_rss_gb()})


def _child_monai(src: str, spacing: list[float], tol: float, threads: int, q) -> None:  # noqa: ANN001
    """Child: MONAI HausdorffDistanceMetric(percentile=95) and SurfaceDiceMetric on the same masks."""
    import warnings

    import torch
    from monai.metrics import HausdorffDistanceMetric, SurfaceDiceMetric

    torch.set_num_threads(threads)
    warnings.simplefilter("ignore")
    p = torch.from_numpy(np.load(f"{src}/pred.npy"))[None, None]  # (1, 1, X, Y, Z) bool
    g = torch.from_numpy(np.load(f"{src}/gt.npy"))[None, None]
    t0 = time.perf_counter()
    h = float(HausdorffDistanceMetric(include_background=True, percentile=95)(p, g, spacing=spacing)[0, 0])
    t_hd = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = float(SurfaceDiceMetric([tol], include_background=True)(p, g, spacing=spacing)[0, 0])
    t_nsd = time.perf_counter() - t0
    q.put({"hd95": h, "nsd": n, "t_hd": t_hd, "t_nsd": t_nsd, "rss": _peak_rss_gb()})


def _spawn(target, *args) -> dict:  # type: ignore[no-untyped-def]
    """Run `target(*args, queue)` in a fresh spawned process and return what it put on the queue."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, q))
    proc.start()
    out = q.get()
    proc.join()
    return out


def main() -> None:
    """Generate the masks, time both methods in separate processes, print ratio, memory and values."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    ap.add_argument("--spacing", type=float, nargs=3, default=[0.7, 0.7, 1.0])
    ap.add_argument("--tol", type=float, default=1.0, help="NSD tolerance, mm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    t0 = time.perf_counter()
    pred, gt = make_masks(tuple(args.shape), args.seed)
    print(f"masks {tuple(args.shape)} spacing {args.spacing} mm: gt {gt.mean():.2%} / pred {pred.mean():.2%} "
          f"of voxels, generated in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "pred.npy", pred)
        np.save(Path(tmp) / "gt.npy", gt)
        del pred, gt
        ours = _spawn(_child_ours, tmp, args.spacing, args.tol)
        ref = _spawn(_child_monai, tmp, args.spacing, args.tol, args.threads)
    t_ref = ref["t_hd"] + ref["t_nsd"]
    print(f"MONAI : HD95 {ref['t_hd']:.2f} s + NSD {ref['t_nsd']:.2f} s = {t_ref:.2f} s, peak RSS {ref['rss']:.2f} GB")
    print(f"ours  : HD95 {ours['t_hd']:.2f} s + NSD {ours['t_nsd']:.2f} s = {ours['t_hd'] + ours['t_nsd']:.2f} s "
          f"separately; {ours['t_shared']:.2f} s with shared distances; peak RSS {ours['rss']:.2f} GB")
    print(f"speed-up (MONAI / ours): {t_ref / (ours['t_hd'] + ours['t_nsd']):.2f}x separately, "
          f"{t_ref / ours['t_shared']:.2f}x shared")
    print(f"HD95 mm: ours {ours['hd95']:.5f}  MONAI {ref['hd95']:.5f}  |diff| {abs(ours['hd95'] - ref['hd95']):.2e}")
    print(f"NSD@{args.tol:g}mm: ours {ours['nsd']:.6f}  MONAI {ref['nsd']:.6f}  "
          f"|diff| {abs(ours['nsd'] - ref['nsd']):.2e}")


if __name__ == "__main__":
    main()
