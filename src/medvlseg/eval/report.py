"""Markdown evaluation report: per-class mean ± std table, per-case Dice/clDice/HD95 table, problems."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from medvlseg.eval.metrics import METRICS
from medvlseg.eval.topology import TOPOLOGY_METRICS

UNITS = {"hd95": " (mm)", "asd": " (mm)"}


def _columns(first: Mapping) -> list[str]:
    """The metrics present in a summary/row, in METRICS then TOPOLOGY_METRICS order."""
    return [m for m in (*METRICS, *TOPOLOGY_METRICS) if m in first]


def _cell(stats: Mapping) -> str:
    """'mean ± std' (4 significant digits) plus the count of excluded (inf) values, or 'n/a'."""
    if stats["mean"] is None:
        text = "n/a"
    else:
        text = f"{stats['mean']:.4g} ± {stats['std']:.4g}"
    if stats["excluded"]:
        text += f" ({stats['excluded']} excl.)"
    return text


def summary_table(summary: Mapping[str, Mapping]) -> str:
    """Markdown table: one row per class, one column per metric (mean ± std over cases)."""
    metrics = _columns(next(iter(summary.values()), {}))
    head = "| class | " + " | ".join(f"{m}{UNITS.get(m, '')}" for m in metrics) + " |"
    lines = [head, "|" + "---|" * (len(metrics) + 1)]
    for name, per_metric in summary.items():
        lines.append(f"| {name} | " + " | ".join(_cell(per_metric[m]) for m in metrics) + " |")
    return "\n".join(lines)


def _num(value: float) -> str:
    """Table text of one value ('inf' for infinities)."""
    return "inf" if math.isinf(value) else f"{value:.4g}"


def case_table(rows: Sequence[Mapping]) -> str:
    """Markdown table of every case and class with all metrics."""
    metrics = _columns(rows[0] if rows else {})
    lines = ["| case | class | " + " | ".join(metrics) + " |", "|" + "---|" * (len(metrics) + 2)]
    for r in rows:
        lines.append(f"| {r['case']} | {r['class']} | " + " | ".join(_num(float(r[m])) for m in metrics) + " |")
    return "\n".join(lines)


def markdown_report(rows: Sequence[Mapping], summary: Mapping[str, Mapping], missing: Sequence[str],
                    failed: Mapping[str, str], settings: Mapping) -> str:
    """The whole report.md text (settings, summary table, problems, per-case table)."""
    n_cases = len({r["case"] for r in rows})
    parts = ["# Evaluation report", "",
             f"{n_cases} case(s) scored; classes: {settings.get('classes')}; NSD tolerance "
             f"{settings.get('nsd_tolerance_mm')} mm; HD95 and ASD in mm (physical spacing). Values are mean ± std "
             "over cases; infinite HD95/ASD (one mask empty) are excluded from means and counted as 'excl.'.",
             "", "## Summary per class", "", summary_table(summary), ""]
    if missing or failed:
        parts += ["## Problems", ""]
        parts += [f"- {name}: no prediction (scored as an empty prediction)" for name in missing]
        parts += [f"- {name}: not scored: {problem}" for name, problem in failed.items()]
        parts.append("")
    parts += ["## Per case", "", case_table(rows), ""]
    return "\n".join(parts)
