"""Claims of a table and their verdicts: per-(seed, case) score matrices of two arms → `stats.paired_test`.

The primary score of a test case is the mean of its artery and vein Dice; per-class lines use that class's Dice.
A case an arm failed to segment scores 0 (Dice of an empty prediction), never dropped. Runs without per-case
scores (budget `full`, before issue 19) cannot be tested: their line says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from medvlseg.experiments.stats import Direction, PairedTest, paired_test

PRIMARY = "mean artery+vein Dice"
CLASSES = ("artery", "vein")


@dataclass(frozen=True)
class Claim:
    """A seed's claim "arm `a` beats arm `b`" (direction 'greater'), or why it cannot be tested (`not_run`)."""

    text: str
    a: str
    b: str
    direction: Direction = "greater"
    not_run: str = ""  # reason an arm of the claim was not run at this budget ("" = testable)
    subset: str = ""  # "field=value" of the records' case_info (e.g. "modality=mri"): test only those cases

    def as_dict(self) -> dict:
        """Plain dict for the table's spec JSON."""
        return asdict(self)


def case_matrix(runs: Sequence[dict], arm: str, seeds: Sequence[int], cases: Sequence[str],
                cls: str | None = None) -> np.ndarray:
    """(seeds, cases) Dice of `arm`: class `cls`, or the mean of artery and vein (None); missing Dice → 0."""
    by_seed = {r["seed"]: r for r in runs if r["arm"] == arm}
    out = np.zeros((len(seeds), len(cases)))
    for i, seed in enumerate(seeds):
        per_case = by_seed[seed]["cases"]
        for j, case in enumerate(cases):
            vals = [per_case[case].get(c, {}).get("dice") for c in ((cls,) if cls else CLASSES)]
            out[i, j] = float(np.mean([0.0 if v is None else v for v in vals]))
    return out


def pairing(runs: Sequence[dict], a: str, b: str, subset: str = "") -> tuple[list[int], list[str]] | str:
    """(common seeds, test cases) of arms a and b (only cases whose case_info matches `subset`, "field=value"),
    or why they cannot be paired."""
    ra, rb = ([r for r in runs if r["arm"] == arm] for arm in (a, b))
    if not ra or not rb:
        return f"no finished runs of {a if not ra else b}"
    if any("cases" not in r for r in ra + rb):
        return "records hold per-seed means only (no per-case scores): no paired test"
    seeds = sorted({r["seed"] for r in ra} & {r["seed"] for r in rb})
    cases = {tuple(r["test_cases"]) for r in ra + rb}
    if len(cases) != 1:
        return "the arms were scored on different test cases"
    if len(seeds) < 2:
        return f"only {len(seeds)} common seed(s)"
    chosen = list(cases.pop())
    if subset:
        field, value = subset.split("=", 1)
        chosen = [c for c in chosen if str(ra[0].get("case_info", {}).get(c, {}).get(field)) == value]
    if len(chosen) < 2:
        return f"only {len(chosen)} test case(s){' with ' + subset if subset else ''}"
    return seeds, chosen


def judge_claim(claim: Claim, runs: Sequence[dict], cls: str | None = None) -> PairedTest | str:
    """The paired test of `claim` on the primary score (or class `cls`), or the reason there is none."""
    if claim.not_run:
        return f"not run here ({claim.not_run})"
    paired = pairing(runs, claim.a, claim.b, claim.subset)
    if isinstance(paired, str):
        return paired
    seeds, cases = paired
    return paired_test(case_matrix(runs, claim.a, seeds, cases, cls), case_matrix(runs, claim.b, seeds, cases, cls),
                       claim.direction)


def claim_lines(claims: Sequence[Claim], runs: Sequence[dict], per_class: bool = True) -> list[str]:
    """Markdown lines: one verdict per claim on the primary score, plus (indented) artery and vein."""
    lines = []
    for claim in claims:
        result = judge_claim(claim, runs)
        if isinstance(result, str):
            lines.append(f"- {claim.text} ({PRIMARY}): **untested** — {result}")
            continue
        lines.append(result.line(f"{claim.text} ({PRIMARY})"))
        if per_class:
            for cls in CLASSES:
                sub = judge_claim(claim, runs, cls)
                if not isinstance(sub, str):
                    lines.append("  " + sub.line(f"{cls} Dice"))
    return lines
