"""Where predict decides labels: on the working grid then nearest-upsampled (the pipeline before issue 20, the
baseline) against on the input grid from slab-resampled probabilities (`Predictor.decide`), in one run.

One command: `.venv/bin/python benchmarks/bench_label_grid.py --model RUN_DIR [--shape 384 384 256]
[--ct-spacing 0.8] [--threads 2]`. A `paper` phantom CT (contrast) is generated at --ct-spacing mm; the run's
--fast working grid and one sliding-window pass give the probabilities both ways start from. Each way runs in
its own spawned process (peak RSS is that process's own, the probabilities loaded from disk included). Printed
per way: seconds, peak RSS, and per class the surface area (marching cubes, mm²) of the label map against the
phantom's true label, with Dice; then the time and surface ratios input-grid / working-grid. A staircase
upsampled from a coarse grid has more surface than the smooth truth, so a ratio to the truth nearer 1 is smoother.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _decide(way: str, run: str, work: str, threads: int, q) -> None:  # noqa: ANN001
    """Spawned: labels on the input grid from the saved working-grid probabilities, one way; time + peak RSS."""
    import torch

    from medvlseg.data.resample import resize
    from medvlseg.infer.postprocess import lung_region, postprocess_labels
    from medvlseg.infer.predictor import Predictor, PredictOptions

    torch.set_num_threads(threads)
    w = Path(work)
    meta = json.loads((w / "meta.json").read_text(encoding="utf-8"))
    probs, lung = np.load(w / "probs.npy"), np.load(w / "lung.npy")
    predictor = Predictor.from_run(run, PredictOptions(fast=True))
    o = predictor.options
    t0 = time.perf_counter()
    if way == "working-grid":  # before issue 20: decide and clean on the working grid, nearest-upsample labels
        labels, _ = predictor.class_labels(probs)
        labels = postprocess_labels(labels, meta["work_spacing"], o.min_component_mm3,
                                    lung_region(lung, meta["work_spacing"], o.lung_margin_mm))
        labels = resize(labels, meta["shape"], "nearest")
    else:
        labels, _ = predictor.decide(probs, lung, meta["work_spacing"], meta["shape"], meta["spacing"])
    seconds = time.perf_counter() - t0
    np.save(w / f"labels_{way}.npy", labels)
    q.put({"seconds": seconds, "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6})


def _surface_mm2(mask: np.ndarray, spacing: tuple[float, ...]) -> float:
    """Area (mm²) of the marching-cubes surface of a binary mask (padded so that it is closed)."""
    from skimage.measure import marching_cubes, mesh_surface_area

    if not mask.any():
        return 0.0
    verts, faces, _, _ = marching_cubes(np.pad(mask, 1).astype(np.float32), 0.5, spacing=spacing)
    return float(mesh_surface_area(verts, faces))


def _prepare(run: str, args: argparse.Namespace, work: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """Phantom CT → preprocess (--fast grid) → probabilities; saved to `work`. Returns the true 3-class label."""
    import torch

    from medvlseg.data.phantom import generate_case, get_preset
    from medvlseg.data.preprocess import preprocess_image
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.io import Volume
    from medvlseg.models.sliding import sliding_probabilities

    torch.set_num_threads(args.threads)
    cfg = get_preset("paper", shape=tuple(args.shape), spacing_xy=(args.ct_spacing,) * 2,
                     spacing_z=(args.ct_spacing,) * 2)
    case = generate_case(cfg, seed=args.seed, contrast=True)
    volume = Volume.from_canonical(case.image, np.diag([args.ct_spacing] * 3 + [1.0]))
    predictor = Predictor.from_run(run, PredictOptions(fast=True))
    prep = preprocess_image(volume, predictor.preprocess)
    o = predictor.options
    probs = sliding_probabilities(predictor.model, torch.from_numpy(np.ascontiguousarray(prep.image)),
                                  predictor.roi, predictor.activation, overlap=o.overlap,
                                  sw_batch_size=o.sw_batch_size, device=predictor.device).numpy()
    np.save(work / "probs.npy", probs)
    np.save(work / "lung.npy", prep.lung)
    meta = {"work_spacing": list(prep.spacing), "shape": list(prep.source_shape), "spacing": list(volume.spacing)}
    (work / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    print(f"CT {tuple(args.shape)} at {args.ct_spacing} mm → working grid {prep.image.shape[1:]} at "
          f"{prep.spacing[0]:.2f} mm; {probs.shape[0]} probability channels; run {run}; {args.threads} threads")
    return case.label, volume.spacing


def main() -> None:
    """Prepare the probabilities, decide labels both ways in child processes, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="trained run folder (3-class output: artery, vein)")
    ap.add_argument("--shape", type=int, nargs=3, default=[384, 384, 256])
    ap.add_argument("--ct-spacing", type=float, default=0.8, help="phantom voxel size, mm")
    ap.add_argument("--seed", type=int, default=1000, help="phantom seed (not one of the training phantoms)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from medvlseg.eval.metrics import dice

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        truth, spacing = _prepare(args.model, args, work)
        ctx = mp.get_context("spawn")
        results = {}
        for way in ("working-grid", "input-grid"):
            q = ctx.Queue()
            p = ctx.Process(target=_decide, args=(way, args.model, str(work), args.threads, q))
            p.start()
            results[way] = q.get()
            p.join()
            labels = np.load(work / f"labels_{way}.npy")
            r = results[way]
            r["area"] = {c: _surface_mm2(labels == c, spacing) for c in (1, 2)}
            r["dice"] = {c: dice(labels == c, truth == c) for c in (1, 2)}
        true_area = {c: _surface_mm2(truth == c, spacing) for c in (1, 2)}
        for way, r in results.items():
            cls = "; ".join(f"{name}: area {r['area'][c] / 1e3:.1f}k mm² = {r['area'][c] / true_area[c]:.3f} x "
                            f"truth, Dice {r['dice'][c]:.3f}" for c, name in ((1, "artery"), (2, "vein")))
            print(f"{way:13s} {r['seconds']:6.2f} s, peak RSS {r['rss_gb']:.2f} GB; {cls}")
        a, b = results["working-grid"], results["input-grid"]
        print(f"input-grid / working-grid: time {b['seconds'] / a['seconds']:.2f}x, peak RSS "
              f"{b['rss_gb'] / a['rss_gb']:.2f}x, surface area artery {b['area'][1] / a['area'][1]:.3f}x, "
              f"vein {b['area'][2] / a['area'][2]:.3f}x")


if __name__ == "__main__":
    main()
