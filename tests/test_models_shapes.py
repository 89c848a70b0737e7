"""Output shapes and prompt handling of every preset and registered part (light/narrow widths, 32–64³)."""

from __future__ import annotations

import pytest
import torch

from medvlseg.errors import ConfigError
from medvlseg.models import BACKBONES, FUSIONS, build_model, get_preset
from medvlseg.models.config import ModelConfig
from medvlseg.utils import config as cfgmod


def _model(preset: str, k: int, text_dim: int = 32, **overrides: object) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(get_preset(preset, light=True, num_classes=k, text_dim=text_dim, **overrides))
    model.set_class_embeddings(torch.randn(k, text_dim))
    return model


@pytest.mark.parametrize("preset", ["lacaf", "universal", "unet"])
@pytest.mark.parametrize(("batch", "k", "size"), [(1, 2, 32), (2, 4, 32), (2, 2, 48), (1, 4, 64)])
def test_preset_output_shapes(preset: str, batch: int, k: int, size: int) -> None:
    model = _model(preset, k).eval()
    x = torch.randn(batch, 2, size, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    channels = k + 1 if preset == "unet" else k
    assert y.shape == (batch, channels, size, size, size)
    assert torch.isfinite(y).all()
    assert model.activation == ("softmax" if preset == "unet" else "sigmoid")


@pytest.mark.parametrize("backbone", ["unet3d", "monai_unet", "dynunet", "segresnet"])
@pytest.mark.parametrize("variant", ["paper", "light"])
def test_every_backbone_in_lacaf(backbone: str, variant: str) -> None:
    model = _model("lacaf", 2, **{"backbone.name": backbone, "backbone.variant": variant, "backbone.width": 0.125})
    y = model(torch.randn(2, 2, 32, 32, 32))
    assert y.shape == (2, 2, 32, 32, 32)
    assert set(BACKBONES.names()) >= {"unet3d", "monai_unet", "dynunet", "segresnet"}


@pytest.mark.parametrize("fusion", ["cross_attention", "concat", "add"])
def test_fusions_produce_class_specific_logits(fusion: str) -> None:
    model = _model("lacaf", 4, fusion=fusion).eval()
    with torch.no_grad():
        y = model(torch.randn(1, 2, 32, 32, 32))
    assert y.shape == (1, 4, 32, 32, 32)
    assert not torch.allclose(y[:, 0], y[:, 1])  # different class embeddings → different maps
    assert FUSIONS.get(fusion) is not None


def test_free_text_prompts_change_k_for_shared_adapters() -> None:
    model = _model("universal", 4).eval()
    x = torch.randn(1, 2, 32, 32, 32)
    with torch.no_grad():
        stored = model(x)
        prompts = model(x, text_embeddings=torch.randn(3, 32))
        same = model(x, text_embeddings=model.class_embeddings.clone())
    assert prompts.shape == (1, 3, 32, 32, 32)
    torch.testing.assert_close(same, stored)


def test_lacaf_per_class_adapters_need_one_prompt_per_class() -> None:
    model = _model("lacaf", 4).eval()
    with pytest.raises(ValueError, match="one prompt per trained class"):
        model(torch.randn(1, 2, 32, 32, 32), text_embeddings=torch.randn(3, 32))
    with pytest.raises(ValueError, match="must have shape"):
        model.set_class_embeddings(torch.randn(4, 16))


def test_unet_rejects_prompts_and_bad_sizes() -> None:
    model = _model("unet", 2).eval()
    with pytest.raises(ValueError, match="not text-conditioned"):
        model(torch.randn(1, 2, 32, 32, 32), text_embeddings=torch.randn(2, 32))
    with pytest.raises(ValueError, match="multiple of 16"):
        model(torch.randn(1, 2, 40, 32, 32))
    with pytest.raises(ValueError, match="image must be"):
        model(torch.randn(1, 1, 32, 32, 32))


def test_paper_backbone_shapes_match_reference_layout() -> None:
    """Universal-Model U-Net at 1/8 width: bottleneck at n/8 with 64 channels, decoder (B, 8, n³)."""
    bb = BACKBONES.build("unet3d", 1, get_preset("unet").backbone.__class__(width=0.125))
    bottleneck, dec = bb(torch.randn(1, 1, 16, 16, 16))
    assert bottleneck.shape == (1, 64, 2, 2, 2) and dec.shape == (1, 8, 16, 16, 16)


def test_configs_round_trip_and_unknown_parts(tmp_path) -> None:  # noqa: ANN001
    for name in ("lacaf", "universal", "unet"):
        for light in (False, True):
            cfg = get_preset(name, light=light)
            cfgmod.save(cfg, tmp_path / f"{name}.yaml")
            assert cfgmod.load(ModelConfig, tmp_path / f"{name}.yaml") == cfg
    assert get_preset("lacaf", **{"backbone.width": 0.5}).backbone.width == 0.5
    with pytest.raises(ConfigError, match="unknown fusion"):
        build_model(get_preset("lacaf", light=True, fusion="nope"))
    with pytest.raises(ConfigError, match="unknown model preset"):
        get_preset("nope")


def test_hooked_monai_backbone_survives_deepcopy() -> None:
    """The bottleneck hook of a copied model (e.g. an EMA copy) records into the copy, not the original."""
    import copy

    model = _model("lacaf", 2, **{"backbone.name": "monai_unet", "backbone.width": 0.125}).eval()
    twin = copy.deepcopy(model)
    x = torch.randn(1, 2, 32, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(twin(x), model(x))
    assert model.backbone._captured == [] and twin.backbone._captured == []
