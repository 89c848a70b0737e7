"""The experiments' fixed engine sets: seeds disjoint between splits, test phases balanced, half-labelled training
cases, and a written set whose test cases carry the planned contrast phase."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from medvlseg.experiments.engine_data import ENGINE_SETS, EngineSet, plan_engine_set, write_engine_set


def test_cpu_set_has_20_balanced_unseen_test_cases() -> None:
    plans = plan_engine_set(ENGINE_SETS["cpu"])
    test = [p for p in plans if p.split == "test"]
    train = [p for p in plans if p.split != "test"]
    assert len(test) >= 20 and {p.phase for p in test} == {"none", "arterial"}
    assert sum(p.phase == "none" for p in test) == len(test) // 2
    assert not {p.seed for p in test} & {p.seed for p in train}
    half = [p for p in plans if p.split == "training" and p.annotated != "both"]
    assert len(half) == ENGINE_SETS["cpu"].n_train_half and {p.annotated for p in half} == {"left", "right"}
    assert plan_engine_set(ENGINE_SETS["cpu"]) == plans  # fixed: the same plan every time


def test_a_test_seed_repeating_a_training_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="test seed"):
        plan_engine_set(EngineSet("clash", train_root=7, val_root=8, test_root=7))


def test_written_set_has_planned_phases_and_half_labels(tmp_path: Path) -> None:
    from medvlseg.io import Manifest, read_image

    spec = EngineSet("t", "tiny", {"max_points": 300}, n_train_full=0, n_train_half=1, n_val=0, n_test=2)
    manifest = write_engine_set(tmp_path, spec)
    cases = {c.name: c for c in Manifest.load(manifest).cases}
    assert sorted(cases) == ["test_arterial_001", "test_none_000", "train_000"]
    assert [cases[n].meta["phase"] for n in ("test_none_000", "test_arterial_001")] == ["none", "arterial"]
    assert cases["train_000"].annotated in ("left", "right")
    label = read_image(cases["test_none_000"].label).array
    assert set(np.unique(label)) == {0, 1, 2}
    stamp = manifest.stat().st_mtime_ns
    assert write_engine_set(tmp_path, spec) == manifest and manifest.stat().st_mtime_ns == stamp  # reused
