"""`medvlseg import-nnunet DATASET --out manifest.json`: an nnU-Net v2 raw dataset as a medvlseg manifest."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg import-nnunet` and its flags."""
    p = subparsers.add_parser(
        "import-nnunet", parents=parents, help="nnU-Net v2 raw dataset → manifest",
        description="Read an nnU-Net v2 raw dataset (dataset.json, imagesTr, labelsTr, imagesTs) into a medvlseg "
                    "manifest. Labels are matched by name (artery, vein); a case whose `ignore` label covers one "
                    "lung becomes half-labeled on the other. Images are referenced in place; remapped labels go to "
                    "OUT's folder/labels/. DATASET: a folder, or a Dataset<ID>_<name> under $nnUNet_raw.",
    )
    p.add_argument("dataset", metavar="DATASET", help="Dataset<ID>_<name> folder (or its name under $nnUNet_raw)")
    p.add_argument("--out", required=True, help="manifest JSON to write")
    p.add_argument("--validation", type=int, default=0,
                   help="move the last N training cases (by name) to the validation split")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)


def resolve_dataset(name: str) -> Path:
    """The dataset folder: `name` itself when it exists, else `$nnUNet_raw/name`; InputError otherwise."""
    import os

    from medvlseg.errors import InputError

    path = Path(name)
    if path.is_dir():
        return path
    raw = os.environ.get("nnUNet_raw")
    if raw and (Path(raw) / name).is_dir():
        return Path(raw) / name
    raise InputError(path, "dataset folder not found" + ("" if raw else " (and $nnUNet_raw is not set)"))


def run(args: argparse.Namespace) -> int:
    """Import, print the split sizes and half-labeled cases; exit 1 when any case was skipped."""
    import sys

    from medvlseg.data.nnunet import import_dataset
    from medvlseg.errors import InputError

    if args.validation < 0:
        raise InputError(args.dataset, f"--validation must be ≥ 0, got {args.validation}")
    report = import_dataset(resolve_dataset(args.dataset), args.out, args.validation, args.progress)
    splits = ", ".join(f"{k} {v}" for k, v in report.splits.items())
    print(f"{report.manifest}: {splits}; {len(report.half_labeled)} half-labeled, {len(report.failed)} skipped")
    dataset_dir, out_dir = resolve_dataset(args.dataset).absolute(), Path(args.out).absolute().parent
    if out_dir != dataset_dir and dataset_dir not in out_dir.parents:  # images are referenced in place
        print(f"medvlseg import-nnunet: note: {report.manifest} references images outside its folder; pass "
              "--allow-outside-paths to the commands that read it (or write the manifest inside the dataset "
              "folder)", file=sys.stderr)
    for name, reason in report.failed.items():
        print(f"medvlseg import-nnunet: skipped: {name}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0
