"""Med-VLM tuning methods (seed 003, Table 5): LoRA, bottleneck adapters, prefix tuning on the frozen encoders."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from medvlseg.errors import ConfigError
from medvlseg.models import build_model, get_preset
from medvlseg.models.medvlm.encoders import freeze_module
from medvlseg.models.medvlm.tuning import add_tuning, tuned_key

TINY_TEXT = {"name": "random_bert", "hidden": 32, "layers": 2, "heads": 2, "mlp_dim": 64}


def tiny_bert() -> BertModel:
    """A frozen 2-layer random BERT (hidden 32, 2 heads)."""
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    return freeze_module(BertModel(cfg, add_pooling_layer=False))


def tiny_medvlm(method: str) -> torch.nn.Module:
    """Light medvlm with a tiny random text model, both encoders tuned by `method`."""
    torch.manual_seed(0)
    return build_model(get_preset("medvlm", light=True, text_dim=32, **{"options.text": TINY_TEXT,
                                                                        "options.tuning": method}))


def test_every_method_trains_only_its_own_parameters_with_the_same_budget() -> None:
    counts = {}
    for method in ("lora", "adapter", "prefix"):
        model = tiny_medvlm(method)
        groups = model.parameter_groups()
        assert {f"{method}_image", f"{method}_text"} <= set(groups), groups
        keys = {tuned_key(n) for n, p in model.named_parameters() if p.requires_grad and tuned_key(n)}
        assert keys == {f"{method}_"}
        model.train()
        model(torch.rand(1, 2, 16, 16, 2)).sigmoid().mean().backward()
        tuned = [p for n, p in model.named_parameters() if tuned_key(n)]
        assert tuned and all(p.grad is not None for p in tuned)
        # B (LoRA) and up (adapter) start at zero, so A / down get zero gradient at step 0; the rest must move
        assert sum(bool(p.grad.abs().sum() > 0) for p in tuned) >= len(tuned) // 2
        assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
        counts[method] = groups[f"{method}_text"]
    # 2 layers x 32 x hidden 32 each (LoRA r 8 on q, v; adapter width 16; 16 prefix tokens for k and v)
    assert counts["lora"] == counts["prefix"] == 2 * 32 * 32
    assert counts["adapter"] == 2 * (32 * 32 + 16 + 32)


def test_adapters_start_at_the_frozen_model_and_change_it_once_trained() -> None:
    model = tiny_bert()
    ids = torch.randint(0, 50, (3, 7))
    mask = torch.ones_like(ids)
    frozen = model(input_ids=ids, attention_mask=mask).last_hidden_state
    add_tuning(model, "adapter", [r"layer\.\d+\.output\.dense"], 16, 1.0)
    names = [n for n, _ in model.named_parameters() if "adapter_" in n]
    assert len(names) == 2 * 4 and not any("attention" in n for n in names)  # FFN output only, both layers
    assert torch.equal(model(input_ids=ids, attention_mask=mask).last_hidden_state, frozen)
    for n, p in model.named_parameters():
        if "adapter_up" in n:
            p.data.fill_(0.05)
    assert not torch.allclose(model(input_ids=ids, attention_mask=mask).last_hidden_state, frozen)


def test_prefix_keys_are_visible_to_every_token_and_padding_stays_masked() -> None:
    model = tiny_bert()
    ids = torch.randint(1, 50, (2, 6))
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    frozen = model(input_ids=ids, attention_mask=mask).last_hidden_state
    add_tuning(model, "prefix", [], 4, 1.0)
    tuned = model(input_ids=ids, attention_mask=mask).last_hidden_state
    assert not torch.allclose(tuned, frozen)  # the prefix takes part in attention
    # what sits in padded positions must not leak into the real tokens
    other = ids.clone()
    other[1, 4:] = 7
    again = model(input_ids=other, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(again[1, :4], tuned[1, :4])


def test_unknown_method_and_unmatched_targets_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="tuning"):
        build_model(get_preset("medvlm", light=True, text_dim=32, **{"options.text": TINY_TEXT,
                                                                     "options.tuning": "bitfit"}))
    with pytest.raises(ConfigError, match="adapter targets"):
        add_tuning(tiny_bert(), "adapter", ["no_such_layer"], 8, 1.0)
