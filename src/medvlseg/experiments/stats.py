"""Paired significance tests of experiment claims over (seed, test case) pairs: crossed bootstrap CI + p-values.

Two arms trained with the same seeds and scored on the same test cases give a matrix of paired differences
`d[seed, case] = metric(arm A) - metric(arm B)`. `paired_test` reports the mean difference, a 95 % bootstrap CI
that resamples seeds *and* cases (a crossed two-way bootstrap: both are random draws the claim must survive),
the Wilcoxon signed-rank p-value over all pairs (scipy) in the claimed direction, and a sign-flip permutation
p-value that flips whole cases (all seeds of a case together, so correlated pairs are not counted as independent).
A claim "holds" only when the Wilcoxon p < alpha in the claimed direction *and* the CI excludes zero on that side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import stats

Direction = Literal["greater", "less"]
_OTHER: dict[str, Direction] = {"greater": "less", "less": "greater"}


@dataclass(frozen=True)
class PairedTest:
    """Result of one paired comparison A vs B (differences A - B; metric units, e.g. Dice)."""

    n_seeds: int
    n_cases: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_wilcoxon: float
    p_permutation: float
    direction: Direction
    p_reverse: float  # one-sided Wilcoxon p of the opposite direction
    alpha: float = 0.05

    @property
    def n_pairs(self) -> int:
        """Number of (seed, case) pairs."""
        return self.n_seeds * self.n_cases

    @property
    def verdict(self) -> str:
        """'holds' (p < alpha and CI beyond 0 in the claimed direction), 'reversed' (significant the other way)
        or 'not shown'."""
        sign = 1.0 if self.direction == "greater" else -1.0
        lo, hi = sorted((sign * self.ci_low, sign * self.ci_high))
        if self.p_wilcoxon < self.alpha and lo > 0:
            return "holds"
        if hi < 0 and self.p_reverse < self.alpha:
            return "reversed"
        return "not shown"

    def as_dict(self) -> dict:
        """Plain dict (JSON/CSV) with n_pairs and verdict."""
        return asdict(self) | {"n_pairs": self.n_pairs, "verdict": self.verdict}

    def line(self, claim: str, digits: int = 3) -> str:
        """One Markdown line: claim — effect, 95 % CI, p, verdict."""
        f = f"{{:+.{digits}f}}"
        reverse = f" (opposite direction: {p_is(self.p_reverse)})" if self.verdict == "reversed" else ""
        return (f"- {claim}: effect {f.format(self.mean_diff)} (95 % CI {f.format(self.ci_low)} to "
                f"{f.format(self.ci_high)}), Wilcoxon {p_is(self.p_wilcoxon)}, permutation "
                f"{p_is(self.p_permutation)}, {self.n_seeds} seeds x {self.n_cases} cases → "
                f"**{self.verdict}**{reverse}")


def p_is(p: float) -> str:
    """'p = 0.003', 'p < 1e-4' or 'p = n/a'."""
    text = format_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def format_p(p: float) -> str:
    """'0.003', '< 1e-4' or 'n/a'."""
    if not math.isfinite(p):
        return "n/a"
    return "< 1e-4" if p < 1e-4 else f"{p:.3g}" if p < 0.001 else f"{p:.3f}"


def paired_test(a: np.ndarray | Sequence[Sequence[float]], b: np.ndarray | Sequence[Sequence[float]],
                direction: Direction = "greater", *, n_boot: int = 10_000, n_perm: int = 10_000,
                alpha: float = 0.05, seed: int = 0) -> PairedTest:
    """Compare arm A with arm B: `a`, `b` of shape (seeds, cases) — the same seeds and test cases for both.

    Claim "A > B" is direction='greater'. NaN pairs (a case one arm failed) are an error: score failures as 0
    (or any agreed value) before testing, so a failing arm is not flattered by dropping its failures.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.size == 0:
        raise ValueError(f"paired_test needs two (seeds, cases) arrays of one shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired_test: non-finite scores; score failed cases explicitly before testing")
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    d = a - b
    lo, hi = crossed_bootstrap_ci(d, n_boot=n_boot, seed=seed)
    return PairedTest(n_seeds=d.shape[0], n_cases=d.shape[1], mean_diff=float(d.mean()), ci_low=lo, ci_high=hi,
                      p_wilcoxon=wilcoxon_p(d.ravel(), direction),
                      p_permutation=case_flip_p(d, direction, n_perm=n_perm, seed=seed),
                      direction=direction, p_reverse=wilcoxon_p(d.ravel(), _OTHER[direction]), alpha=alpha)


def crossed_bootstrap_ci(d: np.ndarray, *, n_boot: int = 10_000, level: float = 0.95,
                         seed: int = 0) -> tuple[float, float]:
    """Percentile CI of mean(d) resampling seeds (rows) and cases (columns) independently with replacement.

    Hand-written: scipy.stats.bootstrap resamples one axis of paired observations, not a crossed design.
    """
    rng = np.random.default_rng(seed)
    n_s, n_c = d.shape
    rows = rng.integers(0, n_s, size=(n_boot, n_s))
    cols = rng.integers(0, n_c, size=(n_boot, n_c))
    # mean over the resampled grid = mean over rows of (row-resampled matrix)[:, cols]; weights make it O(n_boot*n)
    w_rows = np.stack([np.bincount(r, minlength=n_s) for r in rows]).astype(np.float64) / n_s
    w_cols = np.stack([np.bincount(c, minlength=n_c) for c in cols]).astype(np.float64) / n_c
    means = np.einsum("bs,sc,bc->b", w_rows, d, w_cols)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def wilcoxon_p(d: np.ndarray, direction: Direction) -> float:
    """One-sided Wilcoxon signed-rank p over paired differences (all zero → 1.0: no evidence either way)."""
    d = np.asarray(d, dtype=np.float64)
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(d, alternative=direction, zero_method="zsplit").pvalue)


def case_flip_p(d: np.ndarray, direction: Direction, *, n_perm: int = 10_000, seed: int = 0) -> float:
    """One-sided sign-flip permutation p of mean(d): each case's column (all its seeds) flips sign together."""
    per_case = np.asarray(d, dtype=np.float64).mean(axis=0)
    if not np.any(per_case != 0):
        return 1.0
    res = stats.permutation_test((per_case,), np.mean, permutation_type="samples", n_resamples=n_perm,
                                 alternative=direction, random_state=seed)
    return float(res.pvalue)
