"""Parameter-efficient tuning of Med-VLM's frozen encoders: LoRA, bottleneck adapters or prefix tuning (seed 003,
Table 5). Each method adds trainable parameters whose names carry its key (`lora_`, `adapter_`, `prefix_`).

- LoRA comes from peft (`inject_adapter_in_model`): A random, B zero, so training starts at the frozen model.
- Bottleneck adapters (Pfeiffer placement: after each block's feed-forward output projection, before the residual
  add) and prefix tuning (learned key/value vectors prepended in every self-attention) are written here by hand:
  peft has no bottleneck adapter, and its prefix tuning works through `past_key_values`, which ViTModel lacks.
  Prefix tuning plugs into transformers' documented extension points (`AttentionInterface`,
  `AttentionMaskInterface`) rather than patching attention code. Adapters start as the identity (up-projection
  zero); prefixes cannot (any key/value vector draws attention), so they start small (std 0.02).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from medvlseg.errors import ConfigError

METHODS = ("lora", "adapter", "prefix")
TUNED_KEYS = ("lora_", "adapter_", "prefix_")
PREFIX_ATTENTION = "medvlseg_prefix"


def tuned_key(name: str) -> str | None:
    """The tuning key (`lora_`, `adapter_`, `prefix_`) a parameter name carries, or None for a frozen weight."""
    return next((key for key in TUNED_KEYS if key in name), None)


def add_tuning(model: nn.Module, method: str, targets: Sequence[str], rank: int, alpha: float) -> nn.Module:
    """Add `method`'s trainable parameters to a frozen transformers model, in place; return it.

    `targets`: LoRA → Linear names (peft target_modules); adapter → regexes matched at the end of module names;
    prefix → unused. `rank`: LoRA rank, adapter bottleneck width or number of prefix tokens.
    """
    if method == "lora":
        return add_lora(model, targets, rank, alpha)
    if method == "adapter":
        return add_bottleneck_adapters(model, targets, rank)
    if method == "prefix":
        return add_prefix(model, rank)
    raise ConfigError(f"unknown tuning method {method!r}; choose one of {', '.join(METHODS)}")


def add_lora(module: nn.Module, targets: Sequence[str], rank: int, alpha: float) -> nn.Module:
    """Inject peft LoRA (A random, B zero, no dropout) into the Linear layers named `targets`; in place."""
    from peft import LoraConfig, inject_adapter_in_model

    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(targets), bias="none")
    try:
        return inject_adapter_in_model(config, module)
    except ValueError as exc:  # peft's NoMatchingPeftModuleError is a ValueError
        raise ConfigError(f"LoRA targets {list(targets)}: {exc}") from exc


# ------------------------------------------------------------------------------------------ bottleneck adapters
def _adapter_hook(linear: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    """Forward hook: y + up(GELU(down(y))) on a Linear's output y."""
    return output + linear.adapter_up(nn.functional.gelu(linear.adapter_down(output)))


def add_bottleneck_adapters(model: nn.Module, targets: Sequence[str], width: int) -> nn.Module:
    """A bottleneck adapter (features → `width` → features, up-projection zero) on each Linear whose name ends
    with one of the regexes `targets`; in place. At initialisation the model computes exactly what it did."""
    patterns = [re.compile(f"(?:^|\\.)(?:{t})$") for t in targets]
    found = [(n, m) for n, m in model.named_modules()
             if isinstance(m, nn.Linear) and any(p.search(n) for p in patterns)]
    if not found:
        raise ConfigError(f"adapter targets {list(targets)} match no Linear layer of {type(model).__name__}")
    for _, linear in found:
        features = linear.out_features
        linear.adapter_down = nn.Linear(features, width)
        linear.adapter_up = nn.Linear(width, features)
        nn.init.zeros_(linear.adapter_up.weight)
        nn.init.zeros_(linear.adapter_up.bias)
        linear.register_forward_hook(_adapter_hook)
    return model


# ------------------------------------------------------------------------------------------------ prefix tuning
def _attention_modules(model: nn.Module) -> list[nn.Module]:
    """The self-attention modules of a BERT (query/key/value) or ViT (q_proj/k_proj/v_proj) transformers model."""
    return [m for m in model.modules() if (hasattr(m, "query") and hasattr(m, "key") and hasattr(m, "value"))
            or (hasattr(m, "q_proj") and hasattr(m, "k_proj") and hasattr(m, "v_proj"))]


def _prefix_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: torch.Tensor | None, **kwargs) -> tuple[torch.Tensor, None]:
    """transformers attention function: prepend the module's prefix keys/values (heads, P, head_dim), then SDPA."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    prefix_key = getattr(module, "prefix_key", None)
    if prefix_key is not None:
        b = key.shape[0]
        key = torch.cat([prefix_key.to(key.dtype).expand(b, -1, -1, -1), key], dim=2)
        value = torch.cat([module.prefix_value.to(value.dtype).expand(b, -1, -1, -1), value], dim=2)
        if attention_mask is not None:  # (B, 1, Tq, Tk): the prefix is always visible
            pad = (*attention_mask.shape[:-1], prefix_key.shape[1])
            visible = (torch.ones(pad, dtype=torch.bool, device=attention_mask.device)
                       if attention_mask.dtype == torch.bool
                       else torch.zeros(pad, dtype=attention_mask.dtype, device=attention_mask.device))
            attention_mask = torch.cat([visible, attention_mask], dim=-1)
    return ALL_ATTENTION_FUNCTIONS["sdpa"](module, query, key, value, attention_mask, **kwargs)


def _register_prefix_attention() -> None:
    """Register the prefix attention (and SDPA's mask format for it) with transformers, once."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(PREFIX_ATTENTION, _prefix_attention)
    AttentionMaskInterface.register(PREFIX_ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])


def add_prefix(model: nn.Module, tokens: int) -> nn.Module:
    """Learned prefix keys and values (`tokens` per layer and head) in every self-attention of a transformers
    model; in place. Switches the model to the prefix attention implementation."""
    modules = _attention_modules(model)
    config = getattr(model, "config", None)
    if not modules or config is None:
        raise ConfigError(f"prefix tuning: no self-attention found in {type(model).__name__}")
    heads = int(config.num_attention_heads)
    head_dim = int(config.hidden_size) // heads
    for module in modules:
        module.prefix_key = nn.Parameter(torch.randn(heads, tokens, head_dim) * 0.02)
        module.prefix_value = nn.Parameter(torch.randn(heads, tokens, head_dim) * 0.02)
    _register_prefix_attention()
    model.set_attn_implementation(PREFIX_ATTENTION)
    return model
