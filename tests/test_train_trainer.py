"""The trainer: overfitting a fixed batch, exact resume, run-folder contents, checkpoint errors, unet preset."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import fixed_batch_losses, tiny_train_config

from medvlseg.errors import CheckpointError, ConfigError
from medvlseg.models.serialization import read_checkpoint
from medvlseg.train.setup import build_run_model
from medvlseg.train.trainer import Trainer, lr_at


@pytest.mark.parametrize("preset", ["lacaf", "unet"])
def test_loss_decreases_on_a_fixed_batch(tiny_cache: Path, preset: str) -> None:
    torch.manual_seed(0)
    model, _, _ = build_run_model(tiny_train_config(preset=preset), in_channels=2)
    losses = fixed_batch_losses(model, tiny_cache, 32, 40)
    assert losses[-1] < 0.75 * losses[0], losses


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] < 0.01


def test_run_folder_holds_what_predict_needs(tiny_cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = Trainer(tiny_train_config(), tiny_cache, run, progress=False).fit()
    assert result.epochs_done == 2
    for name in ("config.yaml", "prompts.json", "class_embeddings.safetensors", "best.safetensors", "best.json",
                 "last.safetensors", "last.json", "log.csv", "train.log"):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[0]["loss"]) > 0 and rows[0]["val_dice_left_pulmonary_artery"] != ""
    assert json.loads((run / "prompts.json").read_text(encoding="utf-8"))["classes"][0] == "left pulmonary artery"
    _, tensors, meta = read_checkpoint(run / "last")
    assert meta["extra"]["train"]["epoch"] == 1 and any(k.startswith("extra.optim.") for k in tensors)
    with pytest.raises(ConfigError, match="already holds a training run"):
        Trainer(tiny_train_config(), tiny_cache, run, progress=False)


def test_resume_reproduces_the_uninterrupted_run(tiny_cache: Path, tmp_path: Path) -> None:
    config = tiny_train_config(epochs=3)
    Trainer(config, tiny_cache, tmp_path / "full", progress=False).fit()
    Trainer(config, tiny_cache, tmp_path / "cut", progress=False).fit(stop_after=1)
    assert json.loads((tmp_path / "cut" / "last.json").read_text(encoding="utf-8"))["extra"]["train"]["epoch"] == 0
    Trainer(config, tiny_cache, tmp_path / "cut", resume=True, progress=False).fit()
    _, full, _ = read_checkpoint(tmp_path / "full" / "last")
    _, cut, _ = read_checkpoint(tmp_path / "cut" / "last")
    assert full.keys() == cut.keys()
    for key in full:
        assert torch.equal(full[key], cut[key]), key
    rows_full = list(csv.DictReader((tmp_path / "full" / "log.csv").open()))
    rows_cut = list(csv.DictReader((tmp_path / "cut" / "log.csv").open()))
    assert [r["loss"] for r in rows_full] == [r["loss"] for r in rows_cut]


def test_corrupt_or_foreign_checkpoint_is_a_clear_error(tiny_cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(tiny_train_config(epochs=1), tiny_cache, run, progress=False).fit()
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    data = (broken / "last.safetensors").read_bytes()
    (broken / "last.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="last.safetensors"):
        Trainer(tiny_train_config(epochs=2), tiny_cache, broken, resume=True, progress=False).fit()
    foreign = tmp_path / "foreign"
    shutil.copytree(run, foreign)
    (foreign / "last.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a medvlseg-model checkpoint"):
        Trainer(tiny_train_config(epochs=2), tiny_cache, foreign, resume=True, progress=False).fit()
    other_model = tmp_path / "other"
    shutil.copytree(run, other_model)
    with pytest.raises(CheckpointError, match="do not match"):
        Trainer(tiny_train_config(epochs=2, preset="unet"), tiny_cache, other_model, resume=True,
                progress=False).fit()


def test_three_class_mode_trains_two_channels(tiny_cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "run3"
    Trainer(tiny_train_config(epochs=1, label_mode="3class"), tiny_cache, run, progress=False).fit()
    config, _, _ = read_checkpoint(run / "best")
    assert config.num_classes == 2
    assert json.loads((run / "prompts.json").read_text(encoding="utf-8"))["classes"] == ["pulmonary artery", "pulmonary vein"]


def test_tensorboard_option(tiny_cache: Path, tmp_path: Path) -> None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="tensorboard"):
            Trainer(tiny_train_config(tensorboard=True), tiny_cache, tmp_path / "tb", progress=False)
        assert not (tmp_path / "tb").exists()  # refused before anything is written
        return
    Trainer(tiny_train_config(epochs=1, tensorboard=True), tiny_cache, tmp_path / "tb", progress=False).fit()
    assert list((tmp_path / "tb" / "tensorboard").glob("events.out.tfevents.*"))


def test_resume_removes_temp_files_of_an_interrupted_write(tiny_cache: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    Trainer(tiny_train_config(epochs=1, val_every=0), tiny_cache, run, progress=False).fit()
    stale = run / ".last.safetensors.k9x2.tmp.safetensors"
    stale.write_bytes(b"half a checkpoint")
    Trainer(tiny_train_config(epochs=2, val_every=0), tiny_cache, run, resume=True, progress=False).fit()
    assert not stale.exists() and (run / "last.safetensors").is_file()
