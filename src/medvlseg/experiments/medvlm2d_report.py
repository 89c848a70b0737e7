"""Tables and paired-test verdicts of the 2D Med-VLM experiment (medvlm2d) from its run records.

Per arm and organ: mean Dice over (seeds x test cases) and the sample std of the per-seed means; per seed-003 claim
and organ subset: `experiments.stats.paired_test` over the (seed, case) pairs both arms share.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from medvlseg.data.slices2d import ORGANS
from medvlseg.experiments.medvlm2d import ARMS, CLAIMS, REFERENCE, SUBSETS, score_matrix
from medvlseg.experiments.stats import PairedTest, paired_test
from medvlseg.utils.atomic import atomic_path, write_text


def load_records(folder: str | Path) -> list[dict]:
    """Every run record (*.json) in `folder`, sorted by (arm order, seed)."""
    order = {a.name: i for i, a in enumerate(ARMS)}
    records = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]
    return sorted(records, key=lambda r: (order.get(r["arm"], 99), r["seed"]))


def shared_seeds(records: list[dict], *arms: str) -> list[int]:
    """Seeds every one of `arms` has finished."""
    sets = [{r["seed"] for r in records if r["arm"] == a} for a in arms]
    return sorted(set.intersection(*sets)) if sets else []


def arm_rows(records: list[dict]) -> list[dict]:
    """Rows {arm, organ, mean, std (over per-seed means), n_seeds, n_cases} for organs and the two subsets."""
    rows = []
    for arm in ARMS:
        seeds = shared_seeds(records, arm.name)
        if not seeds:
            continue
        cases = next(r["test_cases"] for r in records if r["arm"] == arm.name)
        for organ, members in [(o, (o,)) for o in ORGANS] + list(SUBSETS.items()):
            m = score_matrix(records, arm.name, seeds, cases, members)
            per_seed = m.mean(axis=1)
            rows.append({"arm": arm.name, "organ": organ, "mean": float(m.mean()),
                         "std": float(per_seed.std(ddof=1)) if len(seeds) > 1 else float("nan"),
                         "n_seeds": len(seeds), "n_cases": len(cases)})
    return rows


def verdicts(records: list[dict]) -> list[tuple[str, str, PairedTest]]:
    """(claim, subset, PairedTest) for every claim whose two arms share at least two seeds."""
    out = []
    for claim, a, b in CLAIMS:
        seeds = shared_seeds(records, a, b)
        if len(seeds) < 2:
            continue
        cases = next(r["test_cases"] for r in records if r["arm"] == a)
        for subset, members in SUBSETS.items():
            test = paired_test(score_matrix(records, a, seeds, cases, members),
                               score_matrix(records, b, seeds, cases, members), "greater")
            out.append((claim, subset, test))
    return out


def write_tables(records: list[dict], out_dir: str | Path, prefix: str = "medvlm_slices") -> list[Path]:
    """CSV + Markdown table + bar chart of arm x organ Dice, and the verdict CSV; returns the files."""
    out_dir = Path(out_dir)
    rows = arm_rows(records)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader(), w.writerows(rows)
    write_text(out_dir / f"{prefix}.csv", buf.getvalue())
    tests = verdicts(records)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["claim", "subset", *tests[0][2].as_dict()] if tests else ["claim", "subset"])
    for claim, subset, t in tests:
        w.writerow([claim, subset, *t.as_dict().values()])
    write_text(out_dir / f"{prefix}_verdicts.csv", buf.getvalue())
    _plot(rows, out_dir / f"{prefix}.png")
    return [out_dir / f"{prefix}.{ext}" for ext in ("csv", "png")] + [out_dir / f"{prefix}_verdicts.csv"]


def table_md(records: list[dict]) -> list[str]:
    """Markdown table: arm rows, organ columns (+ the two subsets), 'mean ± std over seeds'."""
    rows = arm_rows(records)
    cols = [*ORGANS, *SUBSETS]
    lines = ["| arm | seeds | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 2)]
    for arm in ARMS:
        mine = {r["organ"]: r for r in rows if r["arm"] == arm.name}
        if not mine:
            continue
        cells = [f"{mine[c]['mean']:.3f} ± {mine[c]['std']:.3f}" for c in cols]
        lines.append(f"| {arm.name} | {mine[cols[0]]['n_seeds']} | " + " | ".join(cells) + " |")
    return lines


def verdict_md(records: list[dict]) -> list[str]:
    """One line per (claim, subset): effect, 95 % CI, p, verdict (experiments.stats)."""
    return [t.line(f"{claim} ({subset}, Dice)") for claim, subset, t in verdicts(records)]


def headline(records: list[dict]) -> str:
    """'pre-trained ViT Dice X vs random Y' over the shared seeds (all organs and arteries + veins)."""
    random_arm = CLAIMS[-1][2]
    seeds = shared_seeds(records, REFERENCE, random_arm)
    if not seeds:
        return "pre-trained vs random ViT: not run yet"
    cases = next(r["test_cases"] for r in records if r["arm"] == REFERENCE)
    parts = []
    for subset, members in SUBSETS.items():
        a = score_matrix(records, REFERENCE, seeds, cases, members).mean()
        b = score_matrix(records, random_arm, seeds, cases, members).mean()
        parts.append(f"{subset}: MAE ViT Dice {a:.3f} vs random ViT {b:.3f}")
    return f"{'; '.join(parts)} ({len(seeds)} seeds x {len(cases)} test cases)"


def _plot(rows: list[dict], png: Path) -> None:
    """Grouped bars: Dice per organ (+ subsets) for each arm, error bars = std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(dict.fromkeys(r["arm"] for r in rows))
    cols = [*ORGANS, *SUBSETS]
    fig, ax = plt.subplots(figsize=(11, 4))
    width = 0.8 / max(len(arms), 1)
    for i, arm in enumerate(arms):
        mine = {r["organ"]: r for r in rows if r["arm"] == arm}
        ax.bar(np.arange(len(cols)) + i * width, [mine[c]["mean"] for c in cols], width,
               yerr=[np.nan_to_num(mine[c]["std"]) for c in cols], label=arm)
    ax.set_xticks(np.arange(len(cols)) + 0.4 - width / 2, cols, rotation=15, fontsize=8)
    ax.set_ylabel("Dice"), ax.legend(fontsize=6, ncol=3)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
