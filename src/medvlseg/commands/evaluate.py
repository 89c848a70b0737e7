"""`medvlseg evaluate --pred P --gt G`: score predicted label maps (DSC, Jaccard, NSD, HD95, ASD, clDice)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg evaluate` and its flags."""
    p = subparsers.add_parser(
        "evaluate", parents=parents, help="score predictions against ground truth",
        description="Per case and class Dice, Jaccard, NSD, HD95 and ASD (mm, physical spacing) and clDice; cases "
                    "matched by file name; half-labeled cases (manifest `annotated`) scored on their side only. "
                    "Writes metrics.csv, summary.json and report.md; exits non-zero if a case is missing or bad.",
    )
    p.add_argument("--pred", required=True, help="prediction folder (or one label file)")
    p.add_argument("--gt", default=None, help="ground-truth label folder (or one file); default: manifest labels")
    p.add_argument("--manifest", default=None, help="dataset.json giving `annotated` sides and CT images")
    p.add_argument("--out", default=None, help="output folder (default: PRED/evaluation, or beside a PRED file)")
    p.add_argument("--nsd-tolerance", type=float, default=1.0, metavar="MM",
                   help="normalised surface Dice tolerance in mm (default 1)")
    p.add_argument("--classes", type=int, choices=(3, 5), default=3,
                   help="3: artery/vein; 5: left/right artery/vein")
    p.add_argument("--split", default=None, help="score only this manifest split (e.g. test)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the outputs, print the summary; 0 only if every case was scored from its prediction."""
    import logging
    import math
    import sys
    from pathlib import Path

    from medvlseg.errors import InputError
    from medvlseg.eval.evaluate import evaluate, write_outputs

    if not (args.nsd_tolerance >= 0 and math.isfinite(args.nsd_tolerance)):
        raise InputError("--nsd-tolerance", f"must be a finite number >= 0 mm, got {args.nsd_tolerance}")
    pred = Path(args.pred)
    gt = Path(args.gt) if args.gt else None
    manifest = Path(args.manifest) if args.manifest else None
    if gt is not None and not gt.exists():
        raise InputError(gt, "ground-truth file or folder not found")
    if args.split and manifest is None:
        raise InputError("--split", "needs --manifest")
    if gt is None and manifest is None:
        raise InputError("--gt", "give a ground-truth folder (--gt) or a manifest (--manifest)")
    out = Path(args.out) if args.out else (pred / "evaluation" if pred.is_dir() else pred.parent / "evaluation")
    logging.getLogger("medvlseg.eval.evaluate").setLevel(logging.CRITICAL)  # problems are printed below instead
    result = evaluate(pred, gt, manifest, classes=args.classes, tolerance_mm=args.nsd_tolerance,
                      progress=args.progress, split=args.split)
    settings = {"pred": str(pred), "gt": str(gt) if gt else None, "manifest": str(manifest) if manifest else None,
                "classes": args.classes, "nsd_tolerance_mm": args.nsd_tolerance}
    paths = write_outputs(out, result, settings)
    for name, stats in result.summary.items():
        d, h = stats["dice"], stats["hd95"]
        dice = "n/a" if d["mean"] is None else f"{d['mean']:.4f} ± {d['std']:.4f}"
        hd = "n/a" if h["mean"] is None else f"{h['mean']:.2f} mm"
        print(f"{name}: dice {dice}  hd95 {hd}  ({d['n']} cases, {h['excluded']} inf HD95 excluded)")
    for name in result.missing:
        print(f"medvlseg evaluate: error: {name}: no prediction found in {pred} (scored as a miss)", file=sys.stderr)
    for problem in result.failed.values():
        print(f"medvlseg evaluate: error: {problem}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0 if result.ok else 1
