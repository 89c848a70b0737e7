"""Benchmark the phantom generator: time per case (tiny, small, 128³ on one core), the fairness figures
(artery/vein AUC from intensity + radius, median distances to the airways, tree connectivity), and the speed-up
of bounding-box tube rasterisation over a whole-grid baseline measured in the same run.

Run: `.venv/bin/python benchmarks/bench_phantom.py [--cases 3] [--big 128]`
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def _time_case(config, seed: int):  # type: ignore[no-untyped-def]
    """Generate one case; return (seconds, case)."""
    from medvlseg.data.phantom import generate_case

    t0 = time.perf_counter()
    case = generate_case(config, seed, contrast=False)
    return time.perf_counter() - t0, case


def _raster_speedup(n_segments: int = 40) -> tuple[float, float]:
    """(bounding-box painter s, whole-grid painter s) for the same random segments on a 128³ grid."""
    from medvlseg.data.phantom.raster import Grid, Painter

    rng = np.random.default_rng(0)
    grid = Grid((128, 128, 128), np.array([2.5, 2.5, 2.5]), np.array([-160.0, -160.0, -160.0]))
    a = rng.uniform(-120, 120, (n_segments, 3))
    b = a + rng.normal(0, 8, (n_segments, 3))
    r = rng.uniform(0.8, 4.0, n_segments)
    t0 = time.perf_counter()
    Painter(grid).paint(a, b, r, 1)
    t_box = time.perf_counter() - t0
    xs = [ax.astype(np.float32) for ax in grid.axes()]
    t0 = time.perf_counter()
    ids = np.zeros(grid.shape, np.uint8)
    for p0, p1, rad in zip(a, b, r):  # baseline: evaluate every voxel for every segment
        u = (p1 - p0).astype(np.float32)
        v = [xs[0][:, None, None] - p0[0], xs[1][None, :, None] - p0[1], xs[2][None, None, :] - p0[2]]
        t = np.clip((v[0] * u[0] + v[1] * u[1] + v[2] * u[2]) / float(u @ u), 0, 1)
        d2 = (v[0] - t * u[0]) ** 2 + (v[1] - t * u[1]) ** 2 + (v[2] - t * u[2]) ** 2
        ids[d2 <= rad * rad] = 1
    return t_box, time.perf_counter() - t0


def main() -> None:
    """Print timings and fairness figures."""
    import torch

    torch.set_num_threads(1)
    from medvlseg.data.phantom import checks, get_preset

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=3, help="non-contrast small cases for the fairness figures")
    ap.add_argument("--big", type=int, default=128, help="edge of the large timing case (voxels)")
    args = ap.parse_args()
    t_tiny, _ = _time_case(get_preset("tiny"), 0)
    big = get_preset("small", shape=(args.big,) * 3, spacing_xy=(2.5, 2.5), spacing_z=(2.2, 2.2), max_points=4000)
    t_big, case_big = _time_case(big, 0)
    print(f"generation time: tiny {t_tiny:.2f} s, {args.big}^3 at 2.5x2.5x2.2 mm {t_big:.2f} s "
          f"(trees/raster/image: {', '.join(f'{k} {v:.2f}' for k, v in case_big.meta['timing_s'].items())})")
    auc = checks.intensity_radius_auc(case_big.image, case_big.label, case_big.spacing, region=case_big.lung)
    dist = checks.airway_distances(case_big.label, case_big.airway, case_big.spacing, 1.0, region=case_big.lung)
    print(f"{args.big}^3 (anatomy scale {case_big.meta['anatomy_scale']:.2f}): AUC logistic {auc['auc_logistic']:.3f}, "
          f"airway distance artery {dist['artery_median_mm']:.2f} mm vein {dist['vein_median_mm']:.2f} mm")
    rows = []
    for seed in range(args.cases):
        t, case = _time_case(get_preset("small"), seed)
        auc = checks.intensity_radius_auc(case.image, case.label, case.spacing, region=case.lung)
        dist = checks.airway_distances(case.label, case.airway, case.spacing, 1.0, region=case.lung)
        comp = checks.tree_components(case.label, case.side)
        worst = min(v["largest_fraction"] for v in comp.values())
        vols = np.bincount(case.label.ravel(), minlength=3)
        rows.append((t, auc["auc_intensity"], auc["auc_radius"], auc["auc_logistic"],
                     dist["artery_median_mm"], dist["vein_median_mm"], worst, vols[1] / max(vols[2], 1)))
        print(f"small seed {seed}: {t:.2f} s, AUC HU {rows[-1][1]:.3f} radius {rows[-1][2]:.3f} "
              f"logistic {rows[-1][3]:.3f}, airway distance artery {rows[-1][4]:.2f} mm vein {rows[-1][5]:.2f} mm, "
              f"largest-component fraction ≥ {worst:.3f}, artery:vein volume {rows[-1][7]:.2f}")
    mean = np.mean(np.array(rows), axis=0)
    print(f"small mean over {args.cases}: {mean[0]:.2f} s/case, AUC logistic {mean[3]:.3f}, "
          f"artery {mean[4]:.2f} mm vs vein {mean[5]:.2f} mm from airways")
    t_box, t_full = _raster_speedup()
    print(f"rasterise 40 tubes on 128^3: bounding boxes {t_box * 1e3:.1f} ms vs whole grid {t_full * 1e3:.1f} ms "
          f"(speed-up x{t_full / max(t_box, 1e-9):.0f})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
