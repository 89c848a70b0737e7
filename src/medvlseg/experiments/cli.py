"""The shared command line of `experiments/*.py`: `--budget {smoke,full,cpu,medium}`, where results and work go.

Results: `full` → docs/results (the first, superseded tables), `cpu` / `medium` → docs/results/BUDGET (decisive
tables with per-case records), smoke → experiments/work/smoke/results. A table with `budget_suffix` (seed 004:
"-mixed") runs at budget NAME+suffix (its own data) and writes next to the tables of budget NAME."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from medvlseg.experiments.budget import BUDGETS, get_budget
from medvlseg.experiments.runner import Arm, ExperimentResult, run_experiment
from medvlseg.experiments.verdicts import Claim

REPO = Path(__file__).resolve().parents[3]


def parse(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    """Parse the experiment flags."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--budget", choices=sorted(b for b in BUDGETS if "-" not in b), default="smoke",
                    help="smoke: tiny phantoms, minutes (CI); full: the first tables (3 seeds, 3 test phantoms); "
                         "cpu: 5 seeds x 20 engine test cases on one CPU core; medium: the GPU recipe")
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
         description: str = "", claims: Sequence[Claim] = (), budget_suffix: str = "") -> ExperimentResult:
    """Run the experiment from the command line and print where its table went."""
    args = parse(argv, description or title)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    suffixed = args.budget + budget_suffix
    budget = get_budget(suffixed if budget_suffix and suffixed in BUDGETS else args.budget)
    if args.seeds:
        budget = replace(budget, seeds=tuple(args.seeds))
    if args.device:
        budget = replace(budget, train={**budget.train, "device": args.device})
    work = Path(args.work) if args.work else REPO / "experiments" / "work" / budget.name
    default_results = {"full": REPO / "docs" / "results", "cpu": REPO / "docs" / "results" / "cpu",
                       "medium": REPO / "docs" / "results" / "medium"}.get(args.budget, work / "results")
    results = Path(args.results) if args.results else default_results
    result = run_experiment(name, title, arms, budget, results, work, notes, progress=args.progress,
                            report_only=args.report_only, claims=claims)
    print(f"{name}: {len(result.runs)} runs in {result.seconds:.0f} s → " + ", ".join(str(p) for p in result.files))
    sys.stdout.flush()
    return result
