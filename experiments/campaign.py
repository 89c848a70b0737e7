"""Every decisive run of one budget in one resumable background job: the arms of Tables I–IV, the text ablation
and seed 004, deduplicated by run key, ordered seed-major (all arms of seed 0 first, so a cut-short campaign still
pairs every claim), then every table redrawn from the records.

One command (background, resumable; finished (arm, seed) records are skipped):
  setsid nohup nice .venv/bin/python experiments/campaign.py --budget cpu > experiments/work/campaign_cpu.log 2>&1 &
`--list` prints the jobs and exits; `--report-only` redraws the tables only; `--prepare-only` makes the data sets;
`--shard I/N` runs every N-th job from the I-th (parallel processes on one machine share no job: the job list is
deduplicated by run key first) and `--no-report` leaves the tables to a final `--report-only`
(experiments/device/medium_runs.sh).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time
from pathlib import Path

from medvlseg.experiments.budget import BUDGETS, get_budget
from medvlseg.experiments.cli import REPO
from medvlseg.experiments.runner import arm_config, finished_record, prepare_data, run_key, run_one

EXPERIMENTS = Path(__file__).resolve().parent
TABLES = ["table2_half_labels", "table4_comparison", "table1_prompts", "text_ablation", "seed004_segevolution",
          "table3_ablation"]  # priority order within a seed
LATE = {"table3_ablation", "lacaf 3class full only"}  # secondary claims: run after every seed of the rest
log = logging.getLogger("campaign")


def load(name: str):  # type: ignore[no-untyped-def]
    """experiments/<name>.py as a module (its __main__ block does not run)."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_budget(name: str, budget: str):  # type: ignore[no-untyped-def]
    """The budget table `name` runs at (seed 004: BUDGET-mixed)."""
    mixed = f"{budget}-mixed"
    return get_budget(mixed if name.startswith("seed004") and mixed in BUDGETS else budget)


def jobs(budget: str, tables: list[str]) -> list[tuple]:
    """(seed, table, arm, budget) per distinct run key, seed-major in table priority order."""
    seen, out = set(), []
    for seed in get_budget(budget).seeds:
        for name in tables:
            b = table_budget(name, budget)
            for arm in load(name).ARMS:
                if b.name in arm.skip_budgets:
                    continue
                key = (b.name, run_key(arm_config(arm, b, seed), b), seed)
                if key not in seen:
                    seen.add(key)
                    out.append((seed, name, arm, b))
    return sorted(out, key=lambda job: (job[1] in LATE or job[2].name in LATE, job[0]))  # stable within a tier


def main() -> None:
    """Run the campaign's jobs (skipping finished ones), then redraw every table of the budget."""
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", default="cpu", choices=("smoke", "cpu", "medium"))
    ap.add_argument("--tables", nargs="+", default=TABLES)
    ap.add_argument("--results", type=Path, default=None, help="default: docs/results/BUDGET")
    ap.add_argument("--work", type=Path, default=None, help="default: experiments/work/BUDGET[-mixed]")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--shard", default="0/1", help="I/N: run jobs I, I+N, I+2N, … of the deduplicated list")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    results = args.results or REPO / "docs" / "results" / args.budget
    todo = [] if args.report_only else jobs(args.budget, args.tables)
    index, count = (int(x) for x in args.shard.split("/"))
    todo = todo[index::count]
    if args.prepare_only:
        for b in {job[3].name: job[3] for job in jobs(args.budget, args.tables)}.values():
            prepare_data(b, (args.work or REPO / "experiments" / "work") / b.name)
        return
    if args.list:
        for seed, name, arm, b in todo:
            done = finished_record(arm, seed, b, results) is not None
            print(f"seed {seed} {b.name:10s} {name:22s} {arm.name}{' (done)' if done else ''}")
        return
    data: dict[str, tuple[Path, Path]] = {}
    t0 = time.perf_counter()
    for seed, name, arm, b in tqdm(todo, desc=f"campaign {args.budget}", unit="run"):
        if finished_record(arm, seed, b, results) is not None:
            continue
        work = (args.work or REPO / "experiments" / "work") / b.name
        if b.name not in data:
            data[b.name] = prepare_data(b, work)
        t = time.perf_counter()
        record = run_one(arm, seed, b, *data[b.name], work, results)
        log.info("%s | %s seed %d: %.0f s, artery %.3f vein %.3f", name, arm.name, seed, time.perf_counter() - t,
                 record["metrics"]["artery"]["dice"], record["metrics"]["vein"]["dice"])
    log.info("campaign runs done in %.0f s", time.perf_counter() - t0)
    if args.no_report:
        return
    for name in args.tables:
        module = load(name)
        module_main = module.__dict__.get("main")
        argv = ["--budget", args.budget, "--report-only", "--results", str(results), "--no-progress"]
        suffix = "-mixed" if name.startswith("seed004") else ""
        module_main(name, getattr(module, "TITLE", name), module.ARMS, argv, notes=module.NOTES,
                    claims=getattr(module, "CLAIMS", ()), budget_suffix=suffix)
    readme = REPO / "docs" / "results" / "README.md"
    if args.results is None and readme.is_file():
        from medvlseg.experiments.summary import update_readme

        update_readme(readme, results, TABLES)


if __name__ == "__main__":
    main()
