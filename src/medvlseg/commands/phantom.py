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
                   help="write PNG previews (previews/; with the engine also gallery.png, every case on one page; "
                        "default: on for the classic small preset, off otherwise)")
    p.add_argument("--modality", default="ct", choices=["ct", "mri", "mixed"],
                   help="ct; mri: MRI-like signal model of the same anatomy (pseudo-HU); mixed: alternating "
                        "(classic generator only)")
    p.add_argument("--engine", choices=["classic", "synth"], default=None,
                   help="classic: the original benchmark generator (default); synth: the domain-randomised engine "
                        "(default as soon as --contrast, --fov or --distractors is given)")
    p.add_argument("--contrast", choices=["none", "arterial", "venous", "random", "mixed"], default=None,
                   help="engine contrast phase: none (artery = vein HU), arterial (CTPA), venous, random "
                        "(SynthSeg-style), mixed (each case draws one; the engine default)")
    p.add_argument("--fov", nargs="+", choices=["thorax", "cta", "one_lung", "bases"], default=None,
                   help="engine fields of view drawn per case (default: the preset's)")
    p.add_argument("--distractors", type=float, default=None, metavar="RATE",
                   help="engine: probability of each distractor kind per case (nodules, ground glass, consolidation, "
                        "emphysema, effusion, calcified nodes, wall thickening); 0 disables")
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
    engine = args.engine or ("synth" if (args.contrast, args.fov, args.distractors) != (None, None, None) else "classic")
    if engine == "synth":
        config = _engine_config(args, overrides, out)
    else:
        if args.fov or args.contrast or args.distractors is not None:
            raise InputError(out, "--contrast, --fov and --distractors need the engine (--engine synth)")
        config = get_preset(args.preset, **overrides)
    path = write_benchmark(out, config, seed=args.seed, workers=args.workers, preview=args.preview,
                           name=args.preset, modality=args.modality)
    print(path)
    if engine == "synth":
        _print_contrast(path)
    return 0


def _engine_config(args: argparse.Namespace, overrides: dict, out: object):  # type: ignore[no-untyped-def]
    """The engine preset with the CLI's overrides (shape → voxel cap; spacing; contrast; fields of view)."""
    from medvlseg.data.phantom.synth_presets import get_synth_preset
    from medvlseg.errors import InputError

    if args.modality != "ct":
        raise InputError(out, "--modality mri/mixed is a classic-generator option")
    engine: dict = {k: v for k, v in overrides.items() if k in ("n_train", "n_val", "n_test", "n_train_full",
                                                                  "spacing_xy", "spacing_z")}
    if "shape" in overrides:
        engine["max_voxels"] = int(overrides["shape"][0] * overrides["shape"][1] * overrides["shape"][2])
    if args.contrast:
        engine["contrast"] = args.contrast
    if args.fov:
        engine["fov"] = tuple(args.fov)
    if args.distractors is not None:
        if not 0.0 <= args.distractors <= 1.0:
            raise InputError(out, f"--distractors must be in [0, 1], got {args.distractors}")
        engine["distractor_rate"] = args.distractors
    if "n_train" in engine:
        engine["n_train_full"] = engine["n_train"]
    return get_synth_preset(args.preset, **engine)


def _print_contrast(manifest_path: object) -> None:
    """Per phase: mean artery − vein HU over the labelled voxels and over their cores, from the manifest."""
    from medvlseg.io import Manifest

    by_phase: dict[str, list[dict]] = {}
    for case in Manifest.load(manifest_path).cases:
        gap = case.meta.get("contrast_gap")
        if gap:
            by_phase.setdefault(case.meta.get("phase", "?"), []).append(gap)
    for phase, gaps in sorted(by_phase.items()):
        art = sum(g["artery_mean_hu"] for g in gaps) / len(gaps)
        vein = sum(g["vein_mean_hu"] for g in gaps) / len(gaps)
        core = sum(g["core_gap_hu"] for g in gaps) / len(gaps)
        print(f"{phase}: {len(gaps)} cases, artery {art:.0f} HU, vein {vein:.0f} HU, artery - vein {art - vein:+.0f} HU "
              f"(vessel cores {core:+.0f} HU)")
