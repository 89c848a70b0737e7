"""Paired tests of experiment claims: a real effect is found, a null one is not, direction and CI behave."""

import numpy as np
import pytest

from medvlseg.experiments.stats import crossed_bootstrap_ci, format_p, paired_test


def _arms(effect: float, seed: int, shape=(5, 20), case_sd=0.15, noise=0.03):
    rng = np.random.default_rng(seed)
    case = rng.normal(0.6, case_sd, size=shape[1])  # shared case difficulty: pairing must remove it
    b = case + rng.normal(0, noise, size=shape)
    a = case + effect + rng.normal(0, noise, size=shape)
    return a, b


def test_real_effect_holds_and_ci_covers_it():
    a, b = _arms(0.03, seed=1)
    t = paired_test(a, b, "greater")
    assert t.verdict == "holds" and t.p_wilcoxon < 1e-3 and t.p_permutation < 0.05
    assert t.ci_low < 0.03 < t.ci_high and t.ci_low > 0
    assert t.n_pairs == 100 and "holds" in t.line("A > B")


def test_wrong_direction_is_reversed_not_held():
    a, b = _arms(0.03, seed=2)
    t = paired_test(a, b, "less")
    assert t.verdict == "reversed" and t.p_wilcoxon > 0.5
    assert "**reversed** (opposite direction: p < 1e-4)" in t.line("A < B")


def test_null_effect_rarely_holds():
    held = sum(paired_test(*_arms(0.0, seed=s), "greater", n_boot=2000, n_perm=2000).verdict == "holds"
               for s in range(40))
    assert held <= 5  # nominal 5 % of 40 = 2; a test that ignores pairing or direction fails this


def test_pairing_matters_small_effect_under_large_case_spread():
    # unpaired, a 0.02 gain is buried by 0.15 case spread; paired, it is clear
    a, b = _arms(0.02, seed=3, case_sd=0.3, noise=0.01)
    assert paired_test(a, b).verdict == "holds"


def test_crossed_bootstrap_wider_than_pairs_when_seeds_vary():
    rng = np.random.default_rng(4)
    d = rng.normal(0, 0.01, size=(5, 20)) + rng.normal(0, 0.1, size=(5, 1))  # seed effect dominates
    lo, hi = crossed_bootstrap_ci(d, n_boot=4000)
    flat = rng.choice(d.ravel(), size=(4000, d.size)).mean(axis=1)
    assert (hi - lo) > 1.5 * (np.quantile(flat, 0.975) - np.quantile(flat, 0.025))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="shape"):
        paired_test(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        paired_test(np.array([[np.nan, 1.0]]), np.zeros((1, 2)))
    assert paired_test(np.ones((2, 3)), np.ones((2, 3))).verdict == "not shown"
    assert format_p(5e-5) == "< 1e-4" and format_p(0.0123) == "0.012"
