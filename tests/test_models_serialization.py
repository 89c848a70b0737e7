"""save_model/load_model: safetensors + JSON round trip, and clear errors for corrupt/foreign/mismatched files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from medvlseg.errors import CheckpointError
from medvlseg.models import build_model, get_preset, load_model, save_model
from medvlseg.models.serialization import read_checkpoint


def _trained_model(preset: str = "lacaf", k: int = 2) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(get_preset(preset, light=True, num_classes=k, text_dim=24))
    model.set_class_embeddings(torch.randn(k, 24))
    model.train()
    model(torch.randn(2, 2, 32, 32, 32))  # move BatchNorm running statistics away from their defaults
    return model.eval()


@pytest.mark.parametrize("preset", ["lacaf", "universal", "unet"])
def test_round_trip_identical_outputs(tmp_path: Path, preset: str) -> None:
    model = _trained_model(preset)
    tensors, meta = save_model(tmp_path / "run" / "best", model, model.config)
    assert tensors.name == "best.safetensors" and meta.name == "best.json"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best.json", "best.safetensors"]
    loaded = load_model(tmp_path / "run" / "best.safetensors")
    assert loaded.config == model.config and not loaded.training
    torch.testing.assert_close(loaded.class_embeddings, model.class_embeddings, rtol=0, atol=0)
    x = torch.randn(1, 2, 32, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_extra_tensors_and_meta_are_kept_but_ignored_by_load(tmp_path: Path) -> None:
    model = _trained_model()
    save_model(tmp_path / "ck", model, extra_tensors={"step": torch.tensor(5)}, extra_meta={"epoch": 2})
    _, tensors, meta = read_checkpoint(tmp_path / "ck")
    assert tensors["extra.step"].item() == 5 and meta["extra"] == {"epoch": 2}
    load_model(tmp_path / "ck")


def test_corrupt_foreign_and_mismatched_files(tmp_path: Path) -> None:
    model = _trained_model()
    save_model(tmp_path / "a", model)
    with pytest.raises(CheckpointError, match="checkpoint config not found"):
        load_model(tmp_path / "absent")
    # truncated tensors (checksum no longer matches)
    data = (tmp_path / "a.safetensors").read_bytes()
    (tmp_path / "a.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="checksum differs"):
        load_model(tmp_path / "a")
    # corrupt file without a checksum to compare against
    meta = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    meta.pop("sha256")
    (tmp_path / "a.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="cannot read safetensors"):
        load_model(tmp_path / "a")
    # foreign JSON
    (tmp_path / "f.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CheckpointError, match="not a medvlseg-model checkpoint"):
        load_model(tmp_path / "f")
    (tmp_path / "g.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(tmp_path / "g")


def test_config_that_does_not_match_tensors(tmp_path: Path) -> None:
    model = _trained_model(k=2)
    save_model(tmp_path / "m", model)
    meta = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    meta["model"]["embed_dim"] = 32  # tensors were saved at 64
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="shapes do not match"):
        load_model(tmp_path / "m")
    meta["model"]["fusion"] = "add"  # no cross-attention parameters expected
    meta["model"]["embed_dim"] = 64
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unexpected"):
        load_model(tmp_path / "m")
    meta["model"]["bogus_key"] = 1
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="invalid model config"):
        load_model(tmp_path / "m")
    meta["format_version"] = 99
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_model(tmp_path / "m")


def test_architecture_registry_dispatch_and_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    from medvlseg.errors import ConfigError
    from medvlseg.models import ARCHITECTURES, ModelConfig, build_model, load_model, save_model

    class Tiny(nn.Module):
        def __init__(self, config: ModelConfig) -> None:
            super().__init__()
            self.config, self.activation, self.size_divisor = config, "sigmoid", 1
            self.conv = nn.Conv3d(config.in_channels, config.num_classes, 1)
            self.register_buffer("class_embeddings", torch.zeros(config.num_classes, config.text_dim))

        def forward(self, image, text_embeddings=None):  # type: ignore[no-untyped-def]
            return self.conv(image) * self.config.options["scale"]

    ARCHITECTURES.register("tiny_test_arch")(Tiny)
    config = ModelConfig(preset="tiny", architecture="tiny_test_arch", options={"scale": 2.0}, num_classes=3)
    model = build_model(config)
    assert isinstance(model, Tiny)
    save_model(tmp_path / "m", model)
    again = load_model(tmp_path / "m")
    x = torch.randn(1, 2, 4, 4, 4)
    assert torch.equal(model(x), again(x)) and again.config.options == {"scale": 2.0}
    with pytest.raises(ConfigError, match="unknown model architecture"):
        build_model(ModelConfig(architecture="nope"))
