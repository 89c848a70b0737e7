"""`medvlseg demo` end to end on the tiny preset (1 short epoch): report, metrics, figures, predictions."""

from __future__ import annotations

from pathlib import Path

import pytest

from medvlseg.cli import main


def test_demo_pipeline_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = tmp_path / "demo.yaml"
    cfg.write_text("preset: lacaf\nlight: true\npatch_size: 32\nbatch_size: 2\nepochs: 1\nsteps_per_epoch: 3\n"
                   "num_workers: 0\nval_every: 1\n")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--preset", "tiny", "--config", str(cfg), "--workers", "1",
                 "--no-progress"]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| artery |" in report and "![training](figures/training.png)" in report
    assert (out / "figures" / "training.png").stat().st_size > 1000
    pngs = list((out / "figures").glob("case_*.png"))
    assert pngs and all(p.name in report for p in pngs)
    assert (out / "evaluation" / "metrics.csv").is_file()
    assert list((out / "predictions").glob("case_*.nii.gz"))
    printed = capsys.readouterr().out
    assert "test artery: Dice" in printed and "report:" in printed
    # A second run reuses phantoms, cache and the finished training run.
    assert main(["demo", "--out", str(out), "--preset", "tiny", "--config", str(cfg), "--workers", "1",
                 "--no-progress"]) == 0
