"""The shared command line of `experiments/*.py`: `--budget {smoke,full}`, where results and work go."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from medvlseg.experiments.budget import BUDGETS, get_budget
from medvlseg.experiments.runner import Arm, ExperimentResult, run_experiment

REPO = Path(__file__).resolve().parents[3]


def parse(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    """Parse the experiment flags."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="smoke",
                    help="smoke: tiny phantoms, minutes (CI); full: the committed results (~2 h per table, 2 CPUs)")
    ap.add_argument("--results", default=None,
                    help="results folder (default: docs/results for full, experiments/work/smoke/results for smoke)")
    ap.add_argument("--work", default=None, help="phantoms, cache and run folders (default: experiments/work/BUDGET)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="override the budget's seeds")
    ap.add_argument("--device", default=None, help="training device (auto | cpu | cuda)")
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: tabulate the finished runs (a partial table shows n seeds per cell)")
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    return ap.parse_args(argv)


def main(name: str, title: str, arms: Sequence[Arm], argv: Sequence[str] | None = None, notes: str = "",
         description: str = "") -> ExperimentResult:
    """Run the experiment from the command line and print where its table went."""
    args = parse(argv, description or title)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    budget = get_budget(args.budget)
    if args.seeds:
        budget = replace(budget, seeds=tuple(args.seeds))
    if args.device:
        budget = replace(budget, train={**budget.train, "device": args.device})
    work = Path(args.work) if args.work else REPO / "experiments" / "work" / budget.name
    default_results = REPO / "docs" / "results" if budget.name == "full" else work / "results"
    results = Path(args.results) if args.results else default_results
    result = run_experiment(name, title, arms, budget, results, work, notes, progress=args.progress,
                            report_only=args.report_only)
    print(f"{name}: {len(result.runs)} runs in {result.seconds:.0f} s → " + ", ".join(str(p) for p in result.files))
    sys.stdout.flush()
    return result
