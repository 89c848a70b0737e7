"""Experiment tables: per-run test metrics → mean ± std over seeds per (arm, class, metric) → CSV, Markdown, PNG,
plus each table's claims with their paired verdicts (medvlseg.experiments.verdicts) and a spec to regenerate it."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from medvlseg.experiments.budget import Budget
from medvlseg.experiments.verdicts import Claim, claim_lines
from medvlseg.utils.atomic import atomic_path, write_json, write_text

CLASSES = ("artery", "vein")
TABLE_METRICS = ("dice", "jaccard", "nsd", "hd95", "cldice")
LABELS = {"dice": "DSC", "jaccard": "Jaccard", "nsd": "NSD@1mm", "hd95": "HD95 (mm)", "cldice": "clDice"}


def class_means(summary: Mapping[str, Mapping[str, Mapping]]) -> dict:
    """`medvlseg evaluate`'s per-class summary → {class: {metric: mean over cases, "hd95_excluded": n}} (a run's
    metrics as the tables read them)."""
    return {cls: {m: v["mean"] for m, v in per.items()} | {"hd95_excluded": per["hd95"]["excluded"]}
            for cls, per in summary.items()}


CASE_METRICS = ("dice", "cldice", "jaccard", "nsd", "hd95")


def case_scores(rows: Sequence[dict]) -> dict:
    """`evaluate` rows → {case: {class: {metric: value}}} for the CASE_METRICS (6 decimals; inf/NaN as None)."""
    out: dict = {}
    for row in rows:
        vals = {m: (round(float(row[m]), 6) if row.get(m) is not None and math.isfinite(row[m]) else None)
                for m in CASE_METRICS}
        out.setdefault(row["case"], {})[row["class"]] = vals
    return out


def table_head() -> list[str]:
    """The Markdown header and rule of a table with artery and vein columns per metric."""
    head = ["arm"] + [f"{cls} {LABELS[m]}" for cls in CLASSES for m in TABLE_METRICS]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def aggregate(arm_names: Sequence[str], runs: Sequence[dict], metrics: Sequence[str] = (*TABLE_METRICS, "asd"),
              n_expected: int | None = None) -> list[dict]:
    """Rows {arm, class, metric, mean, std, n_seeds, n_expected, values}: std is the sample std over seeds (NaN
    with fewer than two seeds: one seed says nothing about seed-to-seed spread)."""
    rows = []
    for arm in arm_names:
        mine = sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["seed"])
        for cls in CLASSES:
            for metric in metrics:
                vals = [r["metrics"].get(cls, {}).get(metric) for r in mine]
                finite = np.array([v for v in vals if v is not None and math.isfinite(v)], dtype=np.float64)
                rows.append({"arm": arm, "class": cls, "metric": metric,
                             "mean": float(finite.mean()) if finite.size else math.nan,
                             "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                             "n_seeds": int(finite.size), "seeds": [r["seed"] for r in mine],
                             "n_expected": n_expected or len(mine),
                             "values": [None if v is None else round(float(v), 6) for v in vals]})
    return rows


def _cell(row: dict) -> str:
    """'0.712 ± 0.031' ('(n=k)' when only k of the seeds finished with a finite value; '—' when none did)."""
    if not row["n_seeds"]:
        return "—"
    partial = f" (n={row['n_seeds']})" if row["n_seeds"] < row.get("n_expected", len(row["values"])) else ""
    if math.isnan(row["std"]):
        return f"{row['mean']:.3f} (n=1)"
    return f"{row['mean']:.3f} ± {row['std']:.3f}{partial}"


def markdown(title: str, arm_names: Sequence[str], rows: Sequence[dict], budget: Budget, notes: str,
             runs: Sequence[dict], claims: Sequence[Claim] = ()) -> str:
    """The table (artery and vein columns per metric), the run settings and a reading of the differences."""
    index = {(r["arm"], r["class"], r["metric"]): r for r in rows}
    lines = [f"# {title}", "", *table_head()]
    for arm in arm_names:
        cells = [_cell(index[(arm, cls, m)]) for cls in CLASSES for m in TABLE_METRICS]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    n_done = {a: index[(a, "artery", "dice")]["n_seeds"] for a in arm_names}
    train_s = [r["train_s"] for r in runs if "train_s" in r]
    lines += ["", f"Mean ± sample std over seeds {list(budget.seeds)} (each seed's value is the mean over the "
              f"test cases); budget `{budget.name}`: phantom preset `{budget.phantom}`, working grid "
              f"{budget.spacing_mm or 'native'} mm, training {budget.train}.",
              f"Seeds finished per arm: {n_done}. Training time per run: "
              + (f"{min(train_s):.0f}–{max(train_s):.0f} s." if train_s else "n/a."), ""]
    lines += ["## Claims (paired test over seed x test case)", "",
              "Effect = mean over (seed, case) pairs of the first arm's score minus the second's; 95 % CI = crossed "
              "bootstrap over seeds and cases; p = one-sided Wilcoxon signed-rank over the pairs (and a case "
              "sign-flip permutation test); **holds** needs p < 0.05 and the CI beyond 0 in the claimed direction "
              "(medvlseg.experiments.stats).", ""]
    lines += claim_lines(claims, runs) if claims else ["- (no claim attached to this table)"]
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[dict]) -> str:
    """CSV text: arm, class, metric, mean, std, n_seeds, values (per seed, ';'-separated)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["arm", "class", "metric", "mean", "std", "n_seeds", "values"])
    for r in rows:
        writer.writerow([r["arm"], r["class"], r["metric"], f"{r['mean']:.6g}", f"{r['std']:.6g}", r["n_seeds"],
                         ";".join("" if v is None else f"{v:.6g}" for v in r["values"])])
    return buf.getvalue()


def plot(path: Path, title: str, arm_names: Sequence[str], rows: Sequence[dict]) -> Path:
    """Grouped bars of DSC and clDice per arm (artery, vein) with seed-std error bars and per-seed dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    index = {(r["arm"], r["class"], r["metric"]): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 1.6 * len(arm_names) + 2), 4.0), sharey=True)
    x = np.arange(len(arm_names))
    for ax, metric in zip(axes, ("dice", "cldice")):
        for i, (cls, colour) in enumerate(zip(CLASSES, ("#c0392b", "#2e5fa8"))):
            rs = [index[(a, cls, metric)] for a in arm_names]
            pos = x + (i - 0.5) * 0.38
            ax.bar(pos, [r["mean"] for r in rs], 0.36, yerr=[np.nan_to_num(r["std"]) for r in rs],
                   color=colour, alpha=0.75, capsize=3, label=cls)
            for p, r in zip(pos, rs):
                vals = [v for v in r["values"] if v is not None]
                ax.scatter([p] * len(vals), vals, s=9, color="black", zorder=3)
        ax.set_title(LABELS[metric])
        ax.set_xticks(x, arm_names, rotation=25, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test mean; bar ± seed std, dots = seeds", fontsize=8)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_table(name: str, title: str, arm_names: Sequence[str], runs: Sequence[dict], results: Path,
                budget: Budget, notes: str = "", claims: Sequence[Claim] = (),
                keys: Mapping[str, str] | None = None) -> tuple[list[dict], list[Path]]:
    """Aggregate and write `<results>/<name>.csv`, `.md`, `.png` and `.spec.json` (what regenerates the table from
    the records: title, budget, arm → run key, claims, notes); returns (rows, paths)."""
    rows = aggregate(arm_names, runs, n_expected=len(budget.seeds))
    results.mkdir(parents=True, exist_ok=True)
    paths = [results / f"{name}.csv", results / f"{name}.md", results / f"{name}.png", results / f"{name}.spec.json"]
    write_text(paths[0], to_csv(rows))
    body = markdown(title, arm_names, rows, budget, notes, runs, claims)
    write_text(paths[1], body.replace("# " + title, f"# {title}\n\n![{name}]({paths[2].name})", 1))
    plot(paths[2], title, arm_names, rows)
    spec = {"name": name, "title": title, "budget": asdict(budget), "notes": notes,
            "arms": [{"name": a, "key": (keys or {}).get(a)} for a in arm_names],
            "claims": [c.as_dict() for c in claims]}
    write_json(paths[3], spec)
    return rows, paths


def load_spec(path: Path) -> tuple[dict, Budget, list[Claim]]:
    """A table's spec JSON → (spec, budget, claims)."""
    import json

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    b = spec["budget"]
    budget = Budget(**{**b, "seeds": tuple(b["seeds"])})
    return spec, budget, [Claim(**c) for c in spec["claims"]]


def spec_runs(spec: dict, budget: Budget, results: Path) -> list[dict]:
    """The committed records a table spec names (results/runs/KEY/seedN.json), labelled with their arm."""
    import json

    runs = []
    for arm in spec["arms"]:
        for seed in budget.seeds:
            path = results / "runs" / str(arm["key"]) / f"seed{seed}.json"
            if path.is_file():
                runs.append({**json.loads(path.read_text(encoding="utf-8")), "arm": arm["name"]})
    return runs


def regenerate(spec_path: Path, out: Path) -> list[Path]:
    """Rewrite a committed table into `out` from its spec and the records next to it (no training)."""
    spec, budget, claims = load_spec(spec_path)
    runs = spec_runs(spec, budget, Path(spec_path).parent)
    names = [a["name"] for a in spec["arms"]]
    keys = {a["name"]: a["key"] for a in spec["arms"]}
    return write_table(spec["name"], spec["title"], names, runs, out, budget, spec["notes"], claims, keys)[1]
