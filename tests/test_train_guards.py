"""Training stops on a non-finite loss before the update: no checkpoint is saved from NaN weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import tiny_train_config
from medvlseg.train.guards import NonFiniteError, check_weights


def test_nan_in_training_data_stops_training_without_saving(tiny_cache: Path, tmp_path: Path) -> None:
    from medvlseg.data.cache import list_cases
    from medvlseg.train.trainer import Trainer

    cache = tmp_path / "cache"
    shutil.copytree(tiny_cache, cache)
    for name in list_cases(cache, "training"):  # every training patch sees NaN voxels
        path = cache / name / "image.npy"
        image = np.load(path)
        image[:, ::4, ::4, ::4] = np.nan
        np.save(path, image)
    run = tmp_path / "run"
    with pytest.raises(NonFiniteError, match="loss is nan at step 1"):
        Trainer(tiny_train_config(epochs=1, steps_per_epoch=2), cache, run, progress=False).fit()
    assert not (run / "best.safetensors").exists() and not (run / "last.safetensors").exists()


def test_non_finite_weights_are_named() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    check_weights(model, 0, Path("run"))
    with torch.no_grad():
        model[1].weight[0, 0] = float("inf")
    with pytest.raises(NonFiniteError, match=r"after epoch 3 \(first: 1.weight\)"):
        check_weights(model, 2, Path("run"))
