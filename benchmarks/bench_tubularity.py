"""Benchmark the torch vesselness filter against `skimage.filters.frangi` on the same volume, in one run.

Run: `.venv/bin/python benchmarks/bench_tubularity.py [--shape 256 256 200] [--sigmas 1 2 3] [--threads 2]`
Volume: a non-contrast phantom (medvlseg.data.phantom) at 1 mm, HU windowed to [0, 1] (-700..300 HU).
Both filters use the same sigmas (1 mm voxels, so mm = voxels) and the same fixed gamma. Each method runs in
its own spawned process (peak RSS per method, via resource.getrusage); prints wall time, the speed-up, peak
memory and the Pearson correlation inside the lungs: ours without sigma² normalisation (skimage's formula) and
ours as used in preprocessing (scale-normalised).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _peak_rss_gb() -> float:
    """Peak resident set size of this process, GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _run_ours(src: str, out: str, sigmas: list[float], gamma: float, threads: int, device: str, q) -> None:  # noqa: ANN001
    """Child: our filter, plain (for the correlation) and scale-normalised (as in preprocessing)."""
    import torch

    from medvlseg.data.tubularity import tubularity

    torch.set_num_threads(threads)
    img = np.load(src)
    tubularity(img[:128, :128, :128], (1.0, 1.0, 1.0), sigmas, gamma=gamma, device=device)  # warm-up: one block
    t0 = time.perf_counter()
    plain = tubularity(img, (1.0, 1.0, 1.0), sigmas, gamma=gamma, normalize=False, device=device)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    norm = tubularity(img, (1.0, 1.0, 1.0), sigmas, gamma=gamma, normalize=True, device=device)
    t_norm = time.perf_counter() - t0
    np.save(out + "_plain.npy", plain)
    np.save(out + "_norm.npy", norm)
    q.put({"time_plain": t_plain, "time_norm": t_norm, "rss_gb": _peak_rss_gb()})


def _run_skimage(src: str, out: str, sigmas: list[float], gamma: float, threads: int, q) -> None:  # noqa: ANN001
    """Child: skimage.filters.frangi, bright ridges, same sigmas and gamma."""
    from skimage.filters import frangi

    img = np.load(src)
    t0 = time.perf_counter()
    ref = frangi(img, sigmas=sigmas, black_ridges=False, gamma=gamma)
    q.put({"time": time.perf_counter() - t0, "rss_gb": _peak_rss_gb()})
    np.save(out + "_skimage.npy", ref.astype(np.float32))


def _in_child(target, *args) -> dict:  # noqa: ANN001
    """Run `target(*args, queue)` in a spawned process and return what it put on the queue."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    res = q.get()
    p.join()
    return res


def _volume(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Windowed [0, 1] phantom image at 1 mm and its lung mask."""
    from medvlseg.data.phantom import generate_case, get_preset
    from medvlseg.data.window import window_hu

    cfg = get_preset("paper", shape=shape, spacing_xy=(1.0, 1.0), spacing_z=(1.0, 1.0))
    case = generate_case(cfg, seed=0, contrast=False)
    return window_hu(case.image), case.lung > 0


def main() -> None:
    """Run both filters, print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", type=int, nargs=3, default=[256, 256, 200])
    ap.add_argument("--sigmas", type=float, nargs="+", default=[1.0, 2.0, 3.0], help="mm (= voxels here)")
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-skimage", action="store_true", help="only time ours (e.g. on a GPU machine)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    img, lung = _volume(tuple(args.shape))
    print(f"volume {img.shape} phantom at 1 mm, generated in {time.perf_counter() - t0:.1f} s; "
          f"lung voxels {int(lung.sum())}; sigmas {args.sigmas} mm; threads {args.threads}; device {args.device}")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = str(Path(tmp) / "img.npy"), str(Path(tmp) / "res")
        np.save(src, img)
        ours = _in_child(_run_ours, src, out, args.sigmas, args.gamma, args.threads, args.device)
        print(f"ours (torch, blocks):   plain {ours['time_plain']:.2f} s, scale-normalised {ours['time_norm']:.2f} s,"
              f" peak RSS {ours['rss_gb']:.2f} GB")
        if args.skip_skimage:
            return
        ski = _in_child(_run_skimage, src, out, args.sigmas, args.gamma, args.threads)
        print(f"skimage.filters.frangi: {ski['time']:.2f} s, peak RSS {ski['rss_gb']:.2f} GB")
        ref = np.load(out + "_skimage.npy")[lung]
        plain, norm = np.load(out + "_plain.npy")[lung], np.load(out + "_norm.npy")[lung]
    print(f"speed-up (skimage / ours plain): {ski['time'] / ours['time_plain']:.1f}x; "
          f"(skimage / ours normalised): {ski['time'] / ours['time_norm']:.1f}x")
    print(f"Pearson r inside the lungs vs skimage: ours plain {np.corrcoef(plain, ref)[0, 1]:.4f}, "
          f"ours scale-normalised {np.corrcoef(norm, ref)[0, 1]:.4f}")


if __name__ == "__main__":
    main()
