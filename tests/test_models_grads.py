"""Gradients reach every trainable part of each preset and never a frozen one."""

from __future__ import annotations

import pytest
import torch

from medvlseg.models import build_model, get_preset


def _loss(model: torch.nn.Module, batch: int = 2) -> torch.Tensor:
    x = torch.randn(batch, 2, 32, 32, 32, generator=torch.Generator().manual_seed(3))
    y = model(x)
    target = (torch.rand(y.shape, generator=torch.Generator().manual_seed(4)) > 0.5).float()
    return torch.nn.functional.binary_cross_entropy_with_logits(y, target)


@pytest.mark.parametrize("preset", ["lacaf", "universal", "unet"])
def test_gradients_reach_every_trainable_parameter(preset: str) -> None:
    torch.manual_seed(0)
    model = build_model(get_preset(preset, light=True, num_classes=4, text_dim=32)).train()
    model.set_class_embeddings(torch.randn(4, 32))
    _loss(model).backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert dead == []
    assert model.class_embeddings.grad is None and not model.class_embeddings.requires_grad
    counts = model.parameter_counts()
    assert counts["frozen"] == 0 and counts["trainable"] == sum(p.numel() for p in model.parameters())


def test_frozen_parts_get_no_gradient() -> None:
    torch.manual_seed(0)
    cfg = get_preset("lacaf", light=True, num_classes=2, text_dim=32, freeze=["backbone.enc1", "text_adapter.norm"])
    model = build_model(cfg).train()
    model.set_class_embeddings(torch.randn(2, 32))
    _loss(model).backward()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith(("backbone.enc1.", "text_adapter.norm.")) for n in frozen)
    assert all(p.grad is None for n, p in model.named_parameters() if n in frozen)
    trainable = [p for n, p in model.named_parameters() if n not in frozen]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable)
    counts = model.parameter_counts()
    assert counts["frozen"] == sum(p.numel() for n, p in model.named_parameters() if n in frozen)


def test_text_embeddings_receive_no_gradient_but_adapters_do() -> None:
    torch.manual_seed(0)
    model = build_model(get_preset("lacaf", light=True, num_classes=2, text_dim=32)).train()
    prompts = torch.randn(2, 32)  # frozen text-encoder output
    x = torch.randn(2, 2, 32, 32, 32)
    model(x, text_embeddings=prompts).sum().backward()
    assert not prompts.requires_grad and prompts.grad is None
    assert model.text_adapter.adapters[1][0].weight.grad.abs().sum() > 0


def test_single_class_lacaf_trains() -> None:
    """K = 1: the text adapter's BatchNorm falls back to running statistics instead of failing."""
    torch.manual_seed(0)
    model = build_model(get_preset("lacaf", light=True, num_classes=1, text_dim=32)).train()
    model.set_class_embeddings(torch.randn(1, 32))
    _loss(model).backward()
    assert model.text_adapter.adapters[0][2].weight.grad.abs().sum() > 0
