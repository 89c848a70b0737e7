"""Experiments: every table's `smoke` budget runs end to end (shared runs trained once), a second invocation
reuses the finished runs, and the aggregation (mean ± sample std over seeds, infinite HD95 left out) is right."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from medvlseg.experiments import BUDGETS, Arm
from medvlseg.experiments.report import _cell, aggregate, to_csv
from medvlseg.experiments.runner import arm_config, run_key

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SCRIPTS = ["table1_prompts", "table2_half_labels", "table3_ablation", "table4_comparison", "text_ablation"]


def _script(name: str):  # type: ignore[no-untyped-def]
    """Import experiments/<name>.py as a module (its __main__ block does not run)."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_smoke_experiment_runs_and_reuses_runs(tmp_path: Path) -> None:
    from medvlseg.experiments.cli import main

    work, results = tmp_path / "work", tmp_path / "results"
    common = ["--budget", "smoke", "--work", str(work), "--results", str(results), "--no-progress"]
    first = main("table3_ablation", "T3", _script("table3_ablation").ARMS, [*common, "--seeds", "0", "1"])
    assert len(first.runs) == 6 and {r["seed"] for r in first.runs} == {0, 1}
    for name in SCRIPTS:
        if name != "table3_ablation":
            module = _script(name)
            out = main(name, name, module.ARMS, [*common, "--seeds", "0"])
            assert len(out.runs) == len(module.ARMS)
    for name in SCRIPTS:
        for ext in ("csv", "md", "png"):
            assert (results / f"{name}.{ext}").stat().st_size > 100
    trained = sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in (work / "runs").glob("*/seed*/best.json"))
    assert len(trained) == 6 + 3 + 7 + 1 + 2  # T3 x2 seeds, then only the arms no earlier table trained
    assert {f"{r['key']}/seed{r['seed']}" for r in first.runs} <= set(trained)
    records = sorted((results / "runs").glob("*/seed*.json"))
    stamps = [p.stat().st_mtime_ns for p in records]
    t3 = _script("table3_ablation")
    again = main("table3_ablation", "T3", t3.ARMS, [*common, "--seeds", "0", "1"], claims=t3.CLAIMS)
    assert [r["metrics"] for r in again.runs] == [r["metrics"] for r in first.runs]
    assert [p.stat().st_mtime_ns for p in records] == stamps  # nothing retrained or rescored
    partial = main("table2_half_labels", "T2", _script("table2_half_labels").ARMS,
                   [*common, "--seeds", "0", "1", "--report-only"])
    assert len(partial.runs) == 8 + 1  # seed 1 exists only for the arm table III shares (LACAF 5-class)
    table2 = (results / "table2_half_labels.md").read_text(encoding="utf-8")
    assert table2.count("(n=1)") >= 7 * 8 and "| lacaf 5class full + half | 0." in table2
    assert len(list((work / "runs").glob("*/seed*/best.json"))) == 19  # reporting trained nothing
    md = (results / "table3_ablation.md").read_text(encoding="utf-8")
    assert "| UM + DA + AAP (LACAF) |" in md and "±" in md and "## Claims" in md
    assert "**untested** — only 1 test case(s)" in md  # smoke: one test phantom, so no paired test
    record = again.runs[0]
    assert record["test_cases"] == sorted(record["cases"]) and record["device"]["kind"] == "cpu"
    assert record["steps"] == 1 and set(record["cases"][record["test_cases"][0]]) == {"artery", "vein"}


def test_shared_arms_share_a_key_and_seed_is_not_in_it() -> None:
    smoke = BUDGETS["smoke"]
    t1 = _script("table1_prompts").ARMS[-1]
    t3 = _script("table3_ablation").ARMS[-1]
    assert run_key(arm_config(t1, smoke, 0), smoke) == run_key(arm_config(t3, smoke, 1), smoke)
    keys = {run_key(arm_config(a, smoke, 0), smoke) for a in _script("table2_half_labels").ARMS}
    assert len(keys) == 8
    full = BUDGETS["full"]
    assert run_key(arm_config(t1, full, 0), full) != run_key(arm_config(t1, smoke, 0), smoke)


def test_aggregate_mean_sample_std_and_infinite_hd95() -> None:
    runs = [{"arm": "a", "seed": s, "metrics": {"artery": {"dice": d, "hd95": h}, "vein": {"dice": 0.5}}}
            for s, d, h in ((0, 0.6, 3.0), (1, 0.8, math.inf), (2, 0.7, 5.0))]
    rows = {(r["class"], r["metric"]): r for r in aggregate(["a"], runs, metrics=("dice", "hd95"))}
    assert rows[("artery", "dice")]["mean"] == pytest.approx(0.7)
    assert rows[("artery", "dice")]["std"] == pytest.approx(0.1)  # sample std (ddof 1)
    assert rows[("artery", "hd95")]["n_seeds"] == 2 and rows[("artery", "hd95")]["mean"] == pytest.approx(4.0)
    assert rows[("vein", "hd95")]["n_seeds"] == 0 and math.isnan(rows[("vein", "hd95")]["mean"])
    assert "a,artery,dice,0.7,0.1,3,0.6;0.8;0.7" in to_csv(list(rows.values()))


def test_one_seed_has_no_std() -> None:
    runs = [{"arm": arm, "seed": 0, "metrics": {"artery": {"dice": d}, "vein": {"dice": d}}}
            for arm, d in (("a", 0.5), ("b", 0.6))]
    rows = aggregate(["a", "b"], runs, metrics=("dice",))
    assert all(r["n_seeds"] == 1 and math.isnan(r["std"]) for r in rows)
    index = {(r["arm"], r["class"], r["metric"]): r for r in rows}
    assert _cell(index[("b", "artery", "dice")]) == "0.600 (n=1)"


def test_arm_config_applies_changes_and_model_overrides() -> None:
    arm = Arm("x", {"preset": "unet", "label_mode": "3class", "text.template": "photo"}, {"backbone.width": 0.5})
    cfg = arm_config(arm, BUDGETS["full"], 2)
    assert (cfg.preset, cfg.label_mode, cfg.text.template, cfg.seed) == ("unet", "3class", "photo", 2)
    assert cfg.model == {"backbone.width": 0.5} and cfg.patch_size == BUDGETS["full"].train["patch_size"]
    assert cfg.preprocess.target_spacing == (2.5, 2.5, 2.5)


def test_medvlm_smoke_experiments_run_and_share_the_lora_arm(tmp_path: Path) -> None:
    """Seed 003's three ablations at the smoke budget; Table 5's LoRA arm is Table 4's "both" (trained once)."""
    from medvlseg.experiments.cli import main

    work, results = tmp_path / "work", tmp_path / "results"
    common = ["--budget", "smoke", "--work", str(work), "--results", str(results), "--no-progress", "--seeds", "0"]
    outs = {name: main(name, name, _script(name).ARMS, common)
            for name in ("medvlm_lora", "medvlm_tuning", "medvlm_descriptions")}
    assert [len(o.runs) for o in outs.values()] == [4, 3, 3]
    lora_both = next(r for r in outs["medvlm_lora"].runs if r["arm"] == "both")
    tuning_lora = next(r for r in outs["medvlm_tuning"].runs if r["arm"] == "LoRA")
    assert lora_both["key"] == tuning_lora["key"] and lora_both["metrics"] == tuning_lora["metrics"]
    keys = {r["key"] for o in outs.values() for r in o.runs}
    # descriptions' "complex" arm carries no model overrides, so it is its own run: 4 + 2 + 3
    assert len(list((work / "runs").glob("*/seed0/best.json"))) == len(keys) == 9
    assert {r["config"]["model"].get("options.tuning") for r in outs["medvlm_tuning"].runs} == {None, "adapter",
                                                                                               "prefix"}
    for name in outs:
        assert "| " in (results / f"{name}.md").read_text(encoding="utf-8")


def test_seed004_report_only_tables_and_plots_the_records(tmp_path: Path) -> None:
    """experiments/seed004_segevolution.py --report-only: mean ± sample std per arm from OUT/records, + plot."""
    import json
    import subprocess
    import sys

    records = tmp_path / "records"
    records.mkdir()
    for arm, ct in (("segvol", (0.2, 0.4)), ("+moa+priors", (0.5, 0.7))):
        for seed, dice in enumerate(ct):
            row = {"arm": arm, "seed": seed, "dice_ct": dice, "dice_mri": dice / 2, "train_s": 10.0}
            (records / f"{arm.replace('+', 'p_')}_seed{seed}.json").write_text(json.dumps(row), encoding="utf-8")
    subprocess.run([sys.executable, str(EXPERIMENTS / "seed004_segevolution_v1.py"), "--budget", "smoke", "--out",
                    str(tmp_path), "--report-only"], check=True, capture_output=True)
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| segvol | 2 | 0.300 ± 0.141 | 0.150 ± 0.071 | 10 |" in md  # sample std of (0.2, 0.4)
    assert "| +moa+priors | 2 | 0.600 ± 0.141 |" in md and "+moa |" not in md
    assert len(json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))) == 4
    assert (tmp_path / "results.png").stat().st_size > 1000
    assert not (tmp_path / "cache").exists()  # reporting made no data
