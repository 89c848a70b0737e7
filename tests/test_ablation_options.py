"""Options the experiments' ablations need: the `random` text encoder (no language, only identity), learned class
embeddings (no text at all), and training on fully-labeled cases only (`train_annotated: both`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_train_config

from medvlseg.data.cache import list_cases
from medvlseg.errors import ConfigError
from medvlseg.models import build_model, get_preset, load_model
from medvlseg.text import get_text_encoder, text_encoder_from_config
from medvlseg.train.trainer import Trainer


def test_random_encoder_is_a_deterministic_unit_vector_per_prompt() -> None:
    enc = get_text_encoder("random", dim=64, seed=3)
    a = enc.encode(["left pulmonary artery", "left pulmonary vein", "left pulmonary artery"])
    assert a.shape == (3, 64)
    assert torch.allclose(a.norm(dim=1), torch.ones(3))
    assert torch.equal(a[0], a[2]) and not torch.allclose(a[0], a[1])
    assert abs(float(a[0] @ a[1])) < 0.5  # unrelated prompts: near-orthogonal, no language in them
    again = text_encoder_from_config(enc.config()).encode(["left pulmonary artery"])
    assert torch.equal(again[0], a[0])
    assert not torch.equal(get_text_encoder("random", dim=64, seed=4).encode(["left pulmonary artery"])[0], a[0])
    with pytest.raises(ConfigError):
        get_text_encoder("random", dim=0)


def test_learned_class_embeddings_are_trainable_and_checkpointed(tmp_path: Path) -> None:
    frozen = build_model(get_preset("lacaf", light=True, text_dim=16))
    learned = build_model(get_preset("lacaf", light=True, text_dim=16, learn_class_embeddings=True))
    assert "class_embeddings" in dict(frozen.named_buffers())
    assert dict(learned.named_parameters())["class_embeddings"].requires_grad
    extra = learned.parameter_counts()["trainable"] - frozen.parameter_counts()["trainable"]
    assert extra == 4 * 16
    learned.set_class_embeddings(torch.randn(4, 16))
    learned(torch.rand(1, 2, 32, 32, 32)).sigmoid().mean().backward()
    assert learned.class_embeddings.grad is not None and learned.class_embeddings.grad.abs().sum() > 0


def test_learned_embeddings_change_in_training_and_reload(tiny_cache: Path, tmp_path: Path) -> None:
    cfg = tiny_train_config(epochs=1, val_every=0, **{"text.name": "random"})
    cfg.model["learn_class_embeddings"] = True
    Trainer(cfg, tiny_cache, tmp_path / "run", progress=False).fit()
    model = load_model(tmp_path / "run" / "best")
    start = get_text_encoder("random").encode(json.loads((tmp_path / "run" / "prompts.json").read_text(encoding="utf-8"))["prompts"])
    assert model.class_embeddings.shape == start.shape
    assert not torch.allclose(model.class_embeddings, start)  # they moved: they were trained


def test_train_annotated_both_leaves_half_labeled_cases_out(tiny_cache: Path, tmp_path: Path) -> None:
    both = list_cases(tiny_cache, "training", "both")
    every = list_cases(tiny_cache, "training")
    assert 0 < len(both) < len(every)
    trainer = Trainer(tiny_train_config(epochs=1, val_every=0, train_annotated="both"), tiny_cache, tmp_path / "r",
                      progress=False)
    trainer.fit()
    assert trainer.train_names == both
    with pytest.raises(ConfigError):
        tiny_train_config(train_annotated="left")
