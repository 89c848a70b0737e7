"""`medvlseg validate MANIFEST`: check every case of a dataset, one line per problem, exit 1 if any."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg validate` and its flags."""
    p = subparsers.add_parser(
        "validate", parents=parents, help="check a dataset, one line per problem",
        description="Check every case of a manifest: image/label files exist and parse, images are 3-D with finite "
                    "values and plausible spacing, labels match the image's shape and affine and hold only allowed "
                    "values. Prints every problem (one line each, on stderr), a summary line, and exits 1 if any.",
    )
    p.add_argument("manifest", metavar="MANIFEST", help="dataset.json (paths relative to its folder)")
    p.add_argument("--labels", type=int, nargs="+", default=[0, 1, 2], metavar="V",
                   help="allowed label values (default: 0 1 2)")
    p.add_argument("--spacing-range", type=float, nargs=2, default=[0.2, 10.0], metavar=("MIN", "MAX"),
                   help="plausible voxel size in mm (default: 0.2 10)")
    p.add_argument("--affine-tol", type=float, default=1e-3, metavar="MM",
                   help="largest label/image affine difference in mm (default: 1e-3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the manifest's cases; print problems to stderr and a summary to stdout."""
    import sys

    from medvlseg.errors import InputError
    from medvlseg.io.manifest import Manifest
    from medvlseg.io.validate import Checks, validate_manifest

    lo, hi = args.spacing_range
    if not 0 < lo <= hi:
        raise InputError(args.manifest, f"--spacing-range needs 0 < MIN <= MAX, got {lo} {hi}")
    manifest = Manifest.load(args.manifest)
    checks = Checks(tuple(sorted(set(args.labels))), lo, hi, args.affine_tol)
    problems = validate_manifest(manifest, checks)
    for problem in problems:
        print(str(problem), file=sys.stderr)
    n_cases = len(manifest.cases)
    bad_cases = len({p.case for p in problems})
    if problems:
        print(f"validate: {len(problems)} problem(s) in {bad_cases} of {n_cases} case(s) in {args.manifest}")
        return 1
    print(f"validate: {n_cases} case(s) OK in {args.manifest}")
    return 0
