"""The run folder contract: typed config read back, clear errors for a broken folder, checkpoint fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medvlseg.errors import CheckpointError
from medvlseg.train.config import TrainConfig
from medvlseg.train.run_folder import read_run


def test_read_run_returns_the_typed_training_config(tiny_run: Path, tmp_path: Path) -> None:
    run = read_run(tiny_run)
    assert isinstance(run.config, TrainConfig) and run.config.patch_size == 32
    assert run.classes == ["left pulmonary artery", "left pulmonary vein", "right pulmonary artery",
                           "right pulmonary vein"]
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("cache"))
    for stem in ("best.json", "best.safetensors"):
        (copy / stem).unlink(missing_ok=True)
    assert read_run(copy).checkpoint("best") == copy / "last"
    (copy / "config.yaml").write_text("patch_size: 32\nunknown_key: 1\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="config.yaml.*unknown_key"):
        read_run(copy)
    (copy / "config.yaml").unlink()
    with pytest.raises(CheckpointError, match="run config not found"):
        read_run(copy)
    with pytest.raises(CheckpointError, match="run folder not found"):
        read_run(tmp_path / "nothing")
