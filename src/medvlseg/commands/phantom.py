"""`medvlseg phantom`: write a synthetic chest-CT artery/vein benchmark (NIfTI images, labels, dataset.json)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg phantom` and its flags."""
    p = subparsers.add_parser(
        "phantom", parents=parents, help="write a synthetic chest-CT benchmark",
        description="Generate synthetic chest CTs with pulmonary artery (1) / vein (2) labels, a train/val/test "
                    "split with half-labelled training cases, and a dataset.json manifest.",
    )
    p.add_argument("--out", required=True, help="output folder (images/, labels/, lungs/, dataset.json)")
    p.add_argument("--preset", default="small", choices=["tiny", "small", "paper"], help="size preset")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed → identical files)")
    p.add_argument("--cases", type=int, default=None, help="total number of cases (overrides the preset)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--shape", type=int, nargs=3, metavar=("X", "Y", "Z"), help="voxels per canonical axis")
    p.add_argument("--spacing", type=float, nargs=3, metavar=("SX", "SY", "SZ"),
                   help="fixed voxel size in mm (in-plane SX = SY)")
    p.add_argument("--preview", action=argparse.BooleanOptionalAction, default=None,
                   help="write PNG previews (default: on for small, off otherwise)")
    p.add_argument("--modality", default="ct", choices=["ct", "mri", "mixed"],
                   help="ct; mri: MRI-like signal model of the same anatomy (pseudo-HU); mixed: alternating")
    p.set_defaults(func=run)


def _split_counts(total: int, n_val: int, n_test: int) -> tuple[int, int, int]:
    """(train, val, test) counts for `total` cases, keeping the preset's val/test where possible."""
    while total < n_val + n_test + 1 and (n_val or n_test):
        if n_test >= n_val and n_test:
            n_test -= 1
        else:
            n_val -= 1
    return total - n_val - n_test, n_val, n_test


def run(args: argparse.Namespace) -> int:
    """Generate the benchmark and print the manifest path."""
    from pathlib import Path

    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.phantom.presets import get_preset
    from medvlseg.errors import InputError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    overrides: dict = {}
    if args.cases is not None:
        if args.cases < 1:
            raise InputError(out, f"--cases must be ≥ 1, got {args.cases}")
        base = get_preset(args.preset)
        n_train, n_val, n_test = _split_counts(args.cases, base.n_val, base.n_test)
        overrides.update(n_train=n_train, n_val=n_val, n_test=n_test,
                         n_train_full=min(base.n_train_full, n_train) if n_train > 1 else n_train)
    if args.shape:
        if min(args.shape) < 16:
            raise InputError(out, f"--shape must be ≥ 16 voxels per axis, got {args.shape}")
        overrides["shape"] = tuple(args.shape)
    if args.spacing:
        if min(args.spacing) <= 0:
            raise InputError(out, f"--spacing must be positive, got {args.spacing}")
        overrides.update(spacing_xy=(args.spacing[0], args.spacing[1]), spacing_z=(args.spacing[2],) * 2)
    if args.workers < 1:
        raise InputError(out, f"--workers must be ≥ 1, got {args.workers}")
    config = get_preset(args.preset, **overrides)
    path = write_benchmark(out, config, seed=args.seed, workers=args.workers, preview=args.preview,
                           name=args.preset, modality=args.modality)
    print(path)
    return 0
