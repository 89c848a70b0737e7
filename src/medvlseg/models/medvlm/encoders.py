"""Med-VLM's frozen encoders with LoRA (equations 1-3): a ViT over 2D slices and a BERT-family text model.

Both encoders come from transformers (`ViTModel`, the BERT models of `medvlseg.text`), are frozen, kept in eval
mode (no dropout) and get LoRA adapters from peft (`inject_adapter_in_model`): A random (Kaiming), B zero, so at
initialisation the adapted encoder computes exactly the frozen one. `options.tuning` swaps LoRA for bottleneck
adapters or prefix tuning (medvlseg.models.medvlm.tuning). Nothing here re-implements a transformer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from medvlseg.errors import ConfigError, InputError
from medvlseg.models.medvlm.options import ImageEncoderOptions, MedVLMOptions
from medvlseg.models.medvlm.tuning import add_tuning, tuned_key
from medvlseg.utils.tensor_files import read_safetensors

log = logging.getLogger(__name__)

def freeze_module(module: nn.Module) -> nn.Module:
    """Switch off gradients for every parameter of `module` and put it in eval mode; return it."""
    for param in module.parameters():
        param.requires_grad_(False)
    return module.eval()


def fingerprint(module: nn.Module) -> torch.Tensor:
    """Checksum (2,) float64 of the frozen (not tuned) weights: Σw and Σw² over all of them."""
    total = torch.zeros(2, dtype=torch.float64)
    for name, param in module.named_parameters():
        if tuned_key(name) is None:
            w = param.detach().double()
            total += torch.stack([w.sum(), (w * w).sum()])
    return total


def _targets(opts: MedVLMOptions, side: str) -> list[str]:
    """The module names the configured tuning method adapts on the `side` ("image" or "text") encoder."""
    return getattr(opts, f"{'adapter' if opts.tuning == 'adapter' else 'lora'}_{side}_targets")


def _width(opts: MedVLMOptions) -> int:
    """LoRA rank, adapter bottleneck width or prefix length of the configured tuning method."""
    return {"lora": opts.lora_rank, "adapter": opts.adapter_dim, "prefix": opts.prefix_tokens}[opts.tuning]


# --------------------------------------------------------------------------------------------- image encoder
def _vit(opts: ImageEncoderOptions, in_channels: int) -> nn.Module:
    """A transformers ViTModel (no pooler, no dropout) with `in_channels` input channels, random weights."""
    from transformers import ViTConfig, ViTModel

    cfg = ViTConfig(image_size=opts.image_size, patch_size=opts.patch, num_channels=in_channels,
                    hidden_size=opts.dim, num_hidden_layers=opts.depth, num_attention_heads=opts.heads,
                    intermediate_size=opts.mlp_dim, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return ViTModel(cfg, add_pooling_layer=False)


def load_vit_weights(vit: nn.Module, path: str | Path) -> None:
    """Load a ViTModel state dict from a local .safetensors file; a 3-channel (RGB) patch embedding is summed
    over RGB into input channel 0 (a grey slice copied to RGB gives the same features), other channels zero."""
    path = Path(path).expanduser()
    state = read_safetensors(path, "ViT weights file")[0]
    state = {k.removeprefix("vit."): v for k, v in state.items() if not k.startswith(("pooler.", "classifier."))}
    key = "embeddings.patch_embeddings.projection.weight"
    own = vit.state_dict()
    if key in state and state[key].shape[1] != own[key].shape[1]:
        rgb = state[key]
        adapted = torch.zeros_like(own[key])
        adapted[:, 0] = rgb.sum(dim=1)
        state[key] = adapted
    missing = sorted(set(own) - set(state))
    bad = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or bad:
        raise InputError(path, f"not a matching ViTModel state dict: missing {missing[:4]}, wrong shape {bad[:4]}")
    vit.load_state_dict({k: state[k] for k in own}, strict=True)


class ImageEncoder(nn.Module):
    """2D slices (N, C, H, W) in [0, 1] → patch tokens (N, H/p * W/p, dim) of the frozen ViT (+ LoRA)."""

    def __init__(self, opts: MedVLMOptions, in_channels: int) -> None:
        super().__init__()
        self.patch = opts.image.patch
        self.dim = opts.image.dim
        self.vit = _vit(opts.image, in_channels)
        self.sourced = bool(opts.image.weights)  # frozen weights re-readable from a file
        if self.sourced:
            from medvlseg.models.medvlm.pretrained import resolve_vit_weights

            load_vit_weights(self.vit, resolve_vit_weights(opts.image.weights, opts.image))
        freeze_module(self.vit)
        if opts.lora_image:
            add_tuning(self.vit, opts.tuning, _targets(opts, "image"), _width(opts), opts.lora_alpha)

    def forward(self, slices: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) → (N, L, dim), L = (H/p)(W/p); the CLS token is dropped."""
        pixels = slices * 2.0 - 1.0  # [0, 1] → [-1, 1], the ViT pre-training normalisation
        out = self.vit(pixel_values=pixels, interpolate_pos_encoding=True).last_hidden_state
        return out[:, 1:]


# ---------------------------------------------------------------------------------------------- text encoder
def _text_backbone(spec: dict[str, Any]) -> tuple[nn.Module, Any, bool]:
    """(BERT model, tokenizer, sourced) for a text spec; "random_bert" = BERT config with random weights and the
    MiniLM (BERT uncased) tokenizer, for tests and parameter counts."""
    from medvlseg.text import get_text_encoder

    spec = dict(spec)
    name = spec.pop("name")
    if name not in ("minilm", "bert", "random_bert"):
        raise ConfigError(f"medvlm needs a BERT-family text encoder (minilm, bert or random_bert), got {name!r}")
    if name != "random_bert":
        encoder = get_text_encoder(name, **spec)
        model = getattr(encoder, "model", None)
        if model is None or not hasattr(encoder, "tokenizer"):
            raise ConfigError(f"text encoder {name!r} is not a BERT-family model (use minilm, bert or random_bert)")
        return model, encoder.tokenizer, True
    from transformers import BertConfig, BertModel

    from medvlseg.text.bert import load_hf_tokenizer
    from medvlseg.text.minilm import minilm_model_dir

    tokenizer = load_hf_tokenizer(minilm_model_dir())
    known = {"hidden": 768, "layers": 12, "heads": 12, "mlp_dim": 3072}
    unknown = set(spec) - set(known)
    if unknown:
        raise ConfigError(f"random_bert text encoder: unknown settings {sorted(unknown)}; known: {sorted(known)}")
    k = {**known, **spec}
    cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=k["hidden"], num_hidden_layers=k["layers"],
                     num_attention_heads=k["heads"], intermediate_size=k["mlp_dim"])
    return BertModel(cfg, add_pooling_layer=False), tokenizer, False


class TextTower(nn.Module):
    """Token ids (K, T) + mask → token features (K, T, hidden) of the frozen BERT-family model (+ LoRA)."""

    def __init__(self, opts: MedVLMOptions) -> None:
        super().__init__()
        model, self.tokenizer, self.sourced = _text_backbone(opts.text)
        self.bert = freeze_module(model)
        self.dim = int(model.config.hidden_size)
        self.max_tokens = min(opts.max_tokens, int(model.config.max_position_embeddings))
        if opts.lora_text:
            add_tuning(self.bert, opts.tuning, _targets(opts, "text"), _width(opts), opts.lora_alpha)

    def tokenize(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts → (input ids (K, T) int64, attention mask (K, T) int64), padded to the longest."""
        batch = self.tokenizer(list(prompts), padding=True, truncation=True, max_length=self.max_tokens,
                               return_tensors="pt")
        return batch["input_ids"].long(), batch["attention_mask"].long()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(K, T) ids and mask → (K, T, hidden) last hidden states."""
        return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
