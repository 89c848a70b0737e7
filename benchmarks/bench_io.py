"""Benchmark medvlseg.io on a clinical-size volume: read/write per format, and `validate` on one case, with
label values checked by a min/max fast path (`values_outside`) against an `np.unique` baseline measured in the same run.

Run: `.venv/bin/python benchmarks/bench_io.py [--shape 512 512 300]`
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def _timed(fn, *args, **kw) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def _volumes(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A int16 CT-like image (HU) and a uint8 0/1/2 label of `shape` voxels."""
    rng = np.random.default_rng(0)
    image = rng.integers(-1024, 1500, size=shape, dtype=np.int16)
    label = np.zeros(shape, np.uint8)
    sl = tuple(slice(s // 4, s // 2) for s in shape)
    label[sl] = 1
    label[tuple(slice(s // 2, s // 2 + s // 8) for s in shape)] = 2
    return image, label


def main() -> None:
    """Print timings (s), speed-up ratios and peak RSS (MiB)."""
    import torch

    from medvlseg.io import Case, Manifest, Volume, read_image, write_image
    from medvlseg.io.validate import validate_manifest, values_outside

    torch.set_num_threads(2)
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs=3, default=[512, 512, 300])
    args = ap.parse_args()
    shape = tuple(args.shape)
    image, label = _volumes(shape)  # type: ignore[arg-type]
    affine = np.diag([0.7, 0.7, 1.0, 1.0])
    vol = Volume.from_canonical(image, affine, "LPS")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for ext in (".nii", ".nii.gz", ".nrrd", ".mha"):
            results[f"write{ext}"], path = _timed(write_image, root / f"img{ext}", image, like=vol)
            results[f"read{ext}"], back = _timed(read_image, path)
            assert np.array_equal(back.array, image)
        write_image(root / "lab.nii", label, like=vol)
        canon_label = read_image(root / "lab.nii").array  # LPS file → flipped (non-contiguous) canonical view
        t_fast, fast = _timed(values_outside, canon_label, (0, 1, 2))
        t_uni, slow = _timed(np.unique, canon_label)
        assert fast == [] and [int(v) for v in slow] == [0, 1, 2]
        results["values_outside_minmax"], results["baseline_np_unique"] = t_fast, t_uni
        manifest = Manifest(path=root / "dataset.json")
        manifest.cases.append(Case("c", "training", root / "img.nii", root / "lab.nii"))
        results["validate_case_nii"], problems = _timed(validate_manifest, manifest, progress=False)
        assert not problems, problems
    results["speedup_minmax_vs_unique"] = t_uni / t_fast
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"shape": list(shape), **{k: round(v, 3) for k, v in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
