"""Benchmark the synthetic-data engine (phantom.synth): generation time per whole-thorax case at 1.5 mm and 0.7 mm
on one core (ratio against the engine without the fine grid and against the classic generator, same run, peak
memory), the fairness figures (phase `none`: intensity + radius AUC; `arterial`: HU gap) and realism statistics
against the real CTA in ../shared/data/real (pulmonary-trunk calibre, lung HU, dense-voxel fraction in the lungs).
The real CT is only measured, never trained or tuned on.

Run: `.venv/bin/python benchmarks/bench_engine.py [--cases 3] [--fine]`  (--fine adds the 0.7 mm case, ~GBs)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "ts_chest_cta_pulm"


def peak_mib() -> float:
    """Peak resident memory of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_engine(spacing: float, supersample: int, seed: int = 0) -> tuple[float, object]:
    """Wall seconds for one whole-thorax engine case at `spacing` mm (isotropic), and the case (its meta gets
    `cpu_s`, the process CPU seconds: the honest one-core figure on a shared machine)."""
    from medvlseg.data.phantom.synth import synth_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset

    cfg = get_synth_preset("paper", spacing_xy=(spacing, spacing), spacing_z=(spacing, spacing), fov=("thorax",),
                           supersample=supersample, max_voxels=200_000_000, max_fine_voxels=200_000_000)
    t0, c0 = time.perf_counter(), time.process_time()
    case = synth_case(cfg, seed, contrast="none")
    case.meta["cpu_s"] = round(time.process_time() - c0, 2)
    return time.perf_counter() - t0, case


def time_classic(shape: tuple[int, int, int], spacing: float) -> float:
    """Seconds for one classic-generator case on the same grid (baseline)."""
    from medvlseg.data.phantom import generate_case, get_preset

    cfg = get_preset("paper", shape=shape, spacing_xy=(spacing, spacing), spacing_z=(spacing, spacing))
    t0 = time.perf_counter()
    generate_case(cfg, 0, contrast=False)
    return time.perf_counter() - t0


def trunk_diameter_mm(label: np.ndarray, spacing: tuple[float, ...]) -> float:
    """Largest inscribed-sphere diameter (mm) of the artery label: the pulmonary trunk's calibre."""
    return float(2.0 * ndimage.distance_transform_edt(label, sampling=spacing).max())


def lung_stats(image: np.ndarray, lung: np.ndarray) -> dict:
    """Lung HU median and 5/95 % quantiles, and the share of lung voxels above −500 HU (vessels, walls)."""
    values = image[lung > 0].astype(np.float32)
    return {"lung_median_hu": float(np.median(values)), "lung_p05_hu": float(np.quantile(values, 0.05)),
            "lung_p95_hu": float(np.quantile(values, 0.95)), "dense_fraction": float((values > -500).mean())}


def real_stats() -> dict:
    """Trunk calibre of the real CTA's pulmonary-artery mask and lung statistics of its image."""
    from medvlseg.data.lungs import lung_map
    from medvlseg.io import read_image

    ct, mask = read_image(REAL / "ct.nii.gz"), read_image(REAL / "pulmonary_artery.nii.gz")
    hu = np.asarray(ct.array, dtype=np.float32)
    lung = lung_map(hu, ct.spacing, -400.0, 10.0, work_mm=2.0, where="real CTA")
    return {"trunk_diameter_mm": trunk_diameter_mm(np.asarray(mask.array) > 0, ct.spacing), **lung_stats(hu, lung)}


def engine_stats(cases: int, phase: str) -> list[dict]:
    """Per case: fairness (AUC), HU gap, trunk calibre, lung statistics, vessel volume fraction in the lungs."""
    from medvlseg.data.phantom import checks
    from medvlseg.data.phantom.synth import synth_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset

    cfg = get_synth_preset("small", fov=("cta",), distractor_rate=0.0, spacing_xy=(1.5, 1.5), spacing_z=(1.5, 1.5),
                           max_voxels=3_000_000)
    rows = []
    for seed in range(cases):
        c = synth_case(cfg, 100 + seed, contrast=phase)
        auc = checks.intensity_radius_auc(c.image, c.label, c.spacing, region=c.lung)
        rows.append({"seed": 100 + seed, **auc, **checks.contrast_gap(c.image, c.label),
                     "trunk_diameter_mm": trunk_diameter_mm(c.label == 1, c.spacing),
                     "vessel_fraction_in_lung": float(((c.label > 0) & (c.lung > 0)).sum() / max((c.lung > 0).sum(), 1)),
                     "artery_vein_volume_ratio": float((c.label == 1).sum() / max((c.label == 2).sum(), 1)),
                     **lung_stats(c.image, c.lung)})
    return rows


def main() -> None:
    """Print every figure as JSON lines (one per measurement)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3)
    ap.add_argument("--fine", action="store_true", help="also time a 0.7 mm whole-thorax case (several GiB)")
    args = ap.parse_args()
    out = []
    t2, case = time_engine(1.5, 2)
    shape = case.image.shape
    t1, _ = time_engine(1.5, 1)
    tc = time_classic(shape, 1.5)
    out.append({"what": "time per whole-thorax case, 1.5 mm, one core", "shape": list(shape), "engine_s": round(t2, 2),
                "engine_no_fine_grid_s": round(t1, 2), "classic_s": round(tc, 2),
                "ratio_engine_vs_classic": round(t2 / tc, 2), "ratio_fine_grid_vs_none": round(t2 / t1, 2),
                "engine_cpu_s": case.meta["cpu_s"],
                "timing_s": {k: round(v, 2) for k, v in case.meta["timing_s"].items()}, "peak_mib": round(peak_mib())})
    print(json.dumps(out[-1]), flush=True)
    if args.fine:
        t, case = time_engine(0.7, 1)
        out.append({"what": "time per whole-thorax case, 0.7 mm, one core (fine grid off: 1 sub-voxel)",
                    "shape": list(case.image.shape), "engine_s": round(t, 2), "engine_cpu_s": case.meta["cpu_s"],
                    "timing_s": {k: round(v, 2) for k, v in case.meta["timing_s"].items()}, "peak_mib": round(peak_mib())})
        print(json.dumps(out[-1]), flush=True)
    for phase in ("none", "arterial"):
        rows = engine_stats(args.cases, phase)
        keys = [k for k in rows[0] if k != "seed"]
        summary = {k: round(float(np.mean([r[k] for r in rows])), 3) for k in keys}
        print(json.dumps({"what": f"engine statistics, phase {phase}, CTA field of view at 1.5 mm, "
                                  f"mean of {len(rows)} cases", **summary}), flush=True)
    print(json.dumps({"what": "real CTA (../shared/data/real), measured only", **real_stats()}), flush=True)


if __name__ == "__main__":
    main()
