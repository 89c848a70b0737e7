"""`medvlseg train --data phantom:PRESET`: engine cases generated on the fly, seeded patches, fixed validation set."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.data.preprocess import PreprocessConfig
from medvlseg.train.stream import StreamConfig, StreamDataset, case_seed, engine_config


def _dataset(**stream: object) -> StreamDataset:
    cfg = StreamConfig(workers=0, pool=2, patches_per_case=2, engine={"max_voxels": 40_000, "max_points": 400},
                       **stream)  # type: ignore[arg-type]
    engine = engine_config("phantom:tiny", cfg)
    return StreamDataset(engine, cfg, PreprocessConfig(), patch_size=24, pos_ratio=0.7, augment=None, seed=5)


def test_patches_are_seeded_and_cases_never_repeat() -> None:
    a, b = _dataset(), _dataset()
    for g in (0, 5):
        pa, pb = a[g], b[g]
        assert pa["image"].shape == (2, 24, 24, 24) and pa["label"].shape == (24, 24, 24)
        assert int(pa["label"].max()) <= 4 and bool(pa["annotated"].all())
        assert np.array_equal(pa["image"].numpy(), pb["image"].numpy())
    assert a._cases and set(a._cases) <= {1, 2}  # the rolling window: cases older than `pool` are dropped
    assert len({case_seed(5, 0, i) for i in range(1000)}) == 1000


def test_engine_overrides_and_bad_preset() -> None:
    cfg = StreamConfig(engine={"contrast": "arterial", "fov": ["cta"]})
    engine = engine_config("phantom:tiny", cfg)
    assert engine.contrast == "arterial" and engine.fov == ("cta",)
    from medvlseg.errors import ConfigError

    with pytest.raises(ConfigError, match="nope"):
        engine_config("phantom:nope", cfg)


def test_train_cli_streams_and_writes_checkpoints(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = main(["train", "--data", "phantom:tiny", "--light", "--epochs", "1", "--steps-per-epoch", "3",
                 "--patch-size", "32", "--batch-size", "1", "--out", str(run), "--device", "cpu", "--no-progress",
                 "--set", "stream.workers=0", "--set", "stream.n_val=1",
                 "--set", "stream.engine={max_voxels: 40000, max_points: 400}"])
    assert code == 0
    for name in ("best.safetensors", "last.safetensors", "config.yaml", "cache/val_000/meta.json"):
        assert (run / name).is_file(), name
    assert "data: phantom:tiny" in (run / "config.yaml").read_text(encoding="utf-8")
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert len(rows) == 1 and float(rows[0]["data_wait_s_per_step"]) >= 0.0 and rows[0]["val_dice_mean"] != ""
