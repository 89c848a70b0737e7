"""`medvlseg demo` end to end on the tiny preset: the shipped default model predicts, is fine-tuned (2 steps),
predicts again; report with before/after metrics, the whole-thorax CT and figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from medvlseg.cli import main


def test_demo_pipeline_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = tmp_path / "demo.yaml"
    cfg.write_text("batch_size: 1\nepochs: 1\nsteps_per_epoch: 2\nnum_workers: 0\nval_every: 1\n")
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--preset", "tiny", "--config", str(cfg), "--workers", "1", "--no-progress"]
    assert main(args) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| artery | default (before) |" in report and "| artery | fine-tuned (after) |" in report
    assert "![training](figures/training.png)" in report and "left lung: artery" in report
    assert "init: default" in (out / "run" / "config.yaml").read_text(encoding="utf-8")
    assert (out / "figures" / "training.png").stat().st_size > 1000
    pngs = list((out / "figures").glob("*.png"))
    assert any(p.name == "thorax.png" for p in pngs) and all(p.name in report for p in pngs if p.stem != "training")
    for stage in ("before", "after"):
        assert (out / stage / "evaluation" / "metrics.csv").is_file()
        assert list((out / stage / "predictions").glob("case_*.nii.gz")) and (out / stage / "thorax.nii.gz").is_file()
    printed = capsys.readouterr().out
    assert "(default model) →" in printed and "report:" in printed
    # A second run reuses the phantoms and the finished fine-tuning run.
    assert main(args) == 0
