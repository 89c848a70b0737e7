"""`medvlseg demo --out DIR`: the whole pipeline on synthetic phantoms (what `make demo` runs)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg demo` and its flags."""
    p = subparsers.add_parser(
        "demo", parents=parents, help="the whole pipeline on phantoms",
        description="Predict the `small` phantoms' test split and a whole-thorax CT with the shipped default model, "
                    "fine-tune it on the phantoms' training split (train --init default), predict again, and write "
                    "DIR/report.md with before/after metrics and PNG overlays.",
    )
    p.add_argument("--out", default="demo_out", help="output folder (reused: finished stages are skipped)")
    p.add_argument("--config", default=None, help="fine-tuning settings over the model's own config (default: configs/demo.yaml)")
    p.add_argument("--epochs", type=int, default=None, help="override the number of training epochs")
    p.add_argument("--preset", default="small", choices=("tiny", "small", "paper"), help="phantom preset")
    p.add_argument("--workers", type=int, default=2, help="worker processes for phantoms and preprocessing")
    p.add_argument("--model", default="default", help="initial model: a shipped name or a run folder")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print where the report is and the test Dice per class."""
    from pathlib import Path

    from medvlseg.demo import run_demo

    result = run_demo(args.out, Path(args.config) if args.config else None, args.epochs, args.preset,
                      args.workers, args.progress, args.model)
    for name, stats in result.summary.items():
        d, b = stats["dice"], result.before.get(name, {}).get("dice", {})
        before = f"{b['mean']:.3f}" if b.get("mean") is not None else "n/a"
        print(f"test {name}: Dice {before} (default model) → {d['mean']:.3f} ± {d['std']:.3f} fine-tuned "
              f"({d['n']} cases)" if d["mean"] is not None else f"test {name}: Dice n/a")
    print(f"report: {result.report}  ({sum(result.timings.values()):.0f} s)")
    return 0
