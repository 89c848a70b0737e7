"""`medvlseg train` as users run it: flags over config, kill -9 then --resume, torchrun with 2 gloo ranks."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medvlseg.cli import main

TINY = ["--light", "--patch-size", "32", "--batch-size", "2", "--steps-per-epoch", "3", "--num-workers", "0",
        "--device", "cpu", "--no-progress"]
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def test_config_file_and_flags(tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("preset: unet\nepochs: 5\nlr: 0.001\naugment:\n  flip_prob: 0.0\n")
    code = main(["train", "--config", str(cfg), "--data", str(tiny_cache), "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--set", "augment.shift_prob=0", *TINY])
    assert code == 0
    saved = (tmp_path / "run" / "config.yaml").read_text(encoding="utf-8")
    assert "preset: unet" in saved and "epochs: 1" in saved and "flip_prob: 0.0" in saved
    assert "shift_prob: 0" in saved
    assert "best val Dice" in capsys.readouterr().out


def test_bad_config_is_one_clear_error(tiny_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("preset: lacaf\nepochz: 3\n")
    assert main(["train", "--config", str(cfg), "--data", str(tiny_cache), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "epochz" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_kill_9_mid_run_then_resume_finishes(tiny_cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [str(BIN / "medvlseg"), "train", "--data", str(tiny_cache), "--out", str(run), "--epochs", "40",
           "--val-every", "0", *TINY]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "log.csv").is_file():
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert 1 <= len(rows) < 40, "killed run should have stopped part-way"
    resume = [str(BIN / "medvlseg"), "train", "--data", str(tiny_cache), "--out", str(run), "--resume",
              "--epochs", str(len(rows) + 2), "--no-progress"]
    done = subprocess.run(resume, env=_env(), capture_output=True, encoding="utf-8", errors="replace", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows_after = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows_after] == list(range(1, len(rows_after) + 1))
    assert len(rows_after) >= len(rows) + 1
    assert not list(run.glob("*.tmp*")) and not list(run.glob(".*tmp*"))


def test_torchrun_two_gloo_ranks(tiny_cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    cmd = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node=2", "-m", "medvlseg.cli", "train",
           "--data", str(tiny_cache), "--out", str(run), "--epochs", "2", *TINY]
    done = subprocess.run(cmd, env=_env(), capture_output=True, encoding="utf-8", errors="replace", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("best val Dice") == 1  # only rank 0 reports
    log_text = (run / "train.log").read_text(encoding="utf-8")
    assert log_text.count("epoch 1: loss") == 1 and log_text.count("epoch 2: loss") == 1  # only rank 0 writes
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and (run / "best.json").is_file()
