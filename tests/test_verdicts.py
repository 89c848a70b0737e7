"""Claims of the experiment tables: (seed, case) matrices from per-case records, subsets, and the paired verdict."""

from __future__ import annotations

import numpy as np
import pytest

from medvlseg.experiments.verdicts import Claim, case_matrix, claim_lines, judge_claim, pairing


def _runs(arm: str, base: float, shift: float, n_seeds: int = 5, n_cases: int = 20) -> list[dict]:
    """Records of `arm`: case c of seed s scores base + shift + small noise (artery) and base (vein)."""
    rng = np.random.default_rng(len(arm))
    out = []
    for s in range(n_seeds):
        cases = {f"c{c:02d}": {"artery": {"dice": base + shift + 0.01 * rng.standard_normal()},
                               "vein": {"dice": base + 0.05 * (c % 3)}} for c in range(n_cases)}
        info = {f"c{c:02d}": {"modality": ("ct", "mri")[c % 2]} for c in range(n_cases)}
        out.append({"arm": arm, "seed": s, "cases": cases, "test_cases": sorted(cases), "case_info": info})
    return out


def test_case_matrix_means_classes_and_scores_missing_dice_as_zero() -> None:
    runs = _runs("a", 0.4, 0.2, n_seeds=2, n_cases=3)
    runs[1]["cases"]["c01"]["artery"]["dice"] = None
    m = case_matrix(runs, "a", [0, 1], ["c00", "c01"])
    assert m.shape == (2, 2)
    assert m[1, 1] == pytest.approx((0.0 + 0.45) / 2)
    art = case_matrix(runs, "a", [0, 1], ["c00"], "artery")
    assert art[0, 0] == pytest.approx(runs[0]["cases"]["c00"]["artery"]["dice"])


def test_a_real_gain_holds_a_null_is_not_shown_and_a_loss_is_reversed() -> None:
    runs = _runs("base", 0.4, 0.0) + _runs("better", 0.4, 0.1) + _runs("same", 0.4, 0.0)
    assert judge_claim(Claim("gain", "better", "base"), runs).verdict == "holds"
    assert judge_claim(Claim("loss", "base", "better"), runs).verdict == "reversed"
    assert judge_claim(Claim("null", "same", "base"), runs).verdict == "not shown"
    sub = judge_claim(Claim("mri", "better", "base", subset="modality=mri"), runs)
    assert sub.n_cases == 10 and sub.n_seeds == 5


def test_untestable_claims_say_why() -> None:
    runs = _runs("a", 0.4, 0.0) + _runs("b", 0.4, 0.0, n_seeds=1)
    assert judge_claim(Claim("x", "a", "b"), runs) == "only 1 common seed(s)"
    assert judge_claim(Claim("x", "a", "nn", not_run="too slow"), runs) == "not run here (too slow)"
    old = [{"arm": "a", "seed": 0, "metrics": {}}, {"arm": "b", "seed": 0, "metrics": {}}]
    assert "per-seed means only" in pairing(old, "a", "b")
    lines = claim_lines([Claim("x", "a", "nn", not_run="too slow")], runs)
    assert lines == ["- x (mean artery+vein Dice): **untested** — not run here (too slow)"]


def test_claim_lines_give_primary_and_per_class_verdicts() -> None:
    runs = _runs("base", 0.4, 0.0) + _runs("better", 0.4, 0.1)
    lines = claim_lines([Claim("gain", "better", "base")], runs)
    assert len(lines) == 3 and "**holds**" in lines[0] and lines[1].startswith("  - artery Dice")
    assert "5 seeds x 20 cases" in lines[0] and "**not shown**" in lines[2]  # veins are equal
