"""Frozen CLIP text encoder: a local Hugging Face folder or an OpenAI-style state-dict file.

Output is the projected end-of-text token embedding (`CLIP.encode_text`), unnormalised by default as the
Universal Model stores it (`normalize=True` L2-normalises). Hand-written here (no library does it without
importing OpenAI's package): the key mapping from OpenAI's text tower names (`transformer.resblocks.i.attn.
in_proj_weight`, `token_embedding.weight`, `positional_embedding`, `ln_final.*`, `text_projection`) onto
transformers' `CLIPTextModelWithProjection`, and its inverse (used by the tests). Checkpoint files are read with
safetensors or `torch.load(weights_only=True)`; nothing is ever unpickled. Tokenizer precedence: the `tokenizer`
folder given by the user, then tokenizer files in the model folder, then OpenAI's BPE built offline
(`medvlseg.text.clip_tokenizer`).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from medvlseg.errors import CheckpointError, InputError
from medvlseg.text.base import TextEncoder, freeze, l2_normalize, register_text_encoder
from medvlseg.text.bert import load_hf_tokenizer
from medvlseg.text.clip_tokenizer import VOCAB_SIZE, build_clip_tokenizer
from medvlseg.utils.tensor_files import read_state_dict

logger = logging.getLogger(__name__)

TOKENIZER_FILES = ("tokenizer.json", "vocab.json")
_BLOCK = re.compile(r"^transformer\.resblocks\.(\d+)\.(.+)$")
_LAYER_NAMES = {  # OpenAI residual-block names → HF CLIPEncoderLayer names (q/k/v handled apart)
    "attn.out_proj": "self_attn.out_proj",
    "ln_1": "layer_norm1",
    "ln_2": "layer_norm2",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
}
_TOP_NAMES = {
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight",
    "ln_final.bias": "text_model.final_layer_norm.bias",
}



def openai_text_config(state: dict[str, torch.Tensor], num_heads: int | None = None) -> Any:
    """Infer a CLIPTextConfig (quick-GELU, EOT = highest id) from OpenAI text-tower tensor shapes."""
    from transformers import CLIPTextConfig

    width = state["ln_final.weight"].shape[0]
    layers = 1 + max(int(m.group(1)) for k in state if (m := _BLOCK.match(k)))
    vocab = state["token_embedding.weight"].shape[0]
    heads = num_heads if num_heads is not None else max(1, width // 64)  # OpenAI: heads = width / 64
    return CLIPTextConfig(
        vocab_size=vocab,
        hidden_size=width,
        intermediate_size=state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        projection_dim=state["text_projection"].shape[1],
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=state["positional_embedding"].shape[0],
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        bos_token_id=vocab - 2,
        eos_token_id=vocab - 1,
        pad_token_id=vocab - 1,
    )


def openai_to_hf(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an OpenAI CLIP state dict (text tower; visual.* and logit_scale ignored) to HF names."""
    required = ("token_embedding.weight", "positional_embedding", "ln_final.weight", "text_projection")
    missing = [k for k in required if k not in state]
    if missing:
        raise KeyError(f"not an OpenAI CLIP text state dict: missing {', '.join(missing)}")
    out = {hf: state[k] for k, hf in _TOP_NAMES.items()}
    out["text_model.embeddings.position_embedding.weight"] = state["positional_embedding"]
    out["text_projection.weight"] = state["text_projection"].t().contiguous()  # (W, P) → (P, W)
    for key, value in state.items():
        match = _BLOCK.match(key)
        if not match:
            continue
        prefix = f"text_model.encoder.layers.{match.group(1)}."
        rest = match.group(2)
        if rest.startswith("attn.in_proj_"):
            kind = rest.rsplit("_", 1)[1]  # "weight" or "bias"
            for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                out[f"{prefix}self_attn.{name}.{kind}"] = part.contiguous()  # (3W, …) → 3 × (W, …)
            continue
        module, kind = rest.rsplit(".", 1)
        if module not in _LAYER_NAMES:
            raise KeyError(f"unexpected OpenAI CLIP key {key}")
        out[f"{prefix}{_LAYER_NAMES[module]}.{kind}"] = value
    return out


def hf_to_openai(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of `openai_to_hf`: HF CLIPTextModelWithProjection state dict → OpenAI text-tower names."""
    out = {k: state[hf] for k, hf in _TOP_NAMES.items()}
    out["positional_embedding"] = state["text_model.embeddings.position_embedding.weight"]
    out["text_projection"] = state["text_projection.weight"].t().contiguous()
    inverse = {v: k for k, v in _LAYER_NAMES.items()}
    layer_key = re.compile(r"^text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")
    for key in state:
        match = layer_key.match(key)
        if not match:
            continue
        i, module, kind = match.groups()
        if module in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
            if module.endswith("q_proj"):
                parts = [state[f"text_model.encoder.layers.{i}.self_attn.{n}.{kind}"] for n in ("q_proj", "k_proj",
                                                                                              "v_proj")]
                out[f"transformer.resblocks.{i}.attn.in_proj_{kind}"] = torch.cat(parts, dim=0)
            continue
        out[f"transformer.resblocks.{i}.{inverse[module]}.{kind}"] = state[key]
    return out


def load_openai_clip_text(path: str | Path, num_heads: int | None = None) -> torch.nn.Module:
    """Build a CLIPTextModelWithProjection from an OpenAI-style checkpoint file (strict key match)."""
    from transformers import CLIPTextModelWithProjection

    state = read_state_dict(path, "CLIP checkpoint file")
    try:
        config = openai_text_config(state, num_heads)
        hf_state = openai_to_hf(state)
    except (KeyError, ValueError, StopIteration) as exc:
        raise CheckpointError(path, f"not an OpenAI CLIP checkpoint: {exc}") from exc
    model = CLIPTextModelWithProjection(config)
    result = model.load_state_dict(hf_state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("position_ids")]
    if missing or result.unexpected_keys:
        raise CheckpointError(path, f"CLIP key mismatch: missing {missing[:5]}, unexpected "
                                    f"{result.unexpected_keys[:5]}")
    return model


def load_hf_clip_text(folder: Path) -> tuple[torch.nn.Module, bool]:
    """Load a CLIP text model from an HF folder; return (model, has_projection)."""
    from transformers import AutoConfig, CLIPTextModel, CLIPTextModelWithProjection

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
        if config.model_type == "clip":  # a full CLIPModel folder: its projection size lives at the top level
            text_config = config.text_config
            text_config.projection_dim = config.projection_dim
            config = text_config
        model, info = CLIPTextModelWithProjection.from_pretrained(
            str(folder), config=config, local_files_only=True, output_loading_info=True)
        if not any(k.startswith("text_projection") for k in info["missing_keys"]):
            return model, True
        logger.warning("%s has no text_projection weights: using the unprojected pooled output", folder)
        return CLIPTextModel.from_pretrained(str(folder), config=config, local_files_only=True), False
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise InputError(folder, f"cannot load a CLIP text model from this folder: {exc}") from exc


class ClipTextEncoder(TextEncoder):
    """Frozen CLIP text tower → projected EOT embedding (N, P); `normalize` L2-normalises it."""

    name = "clip"

    def __init__(self, path: str | Path, tokenizer: str | Path | None = None, normalize: bool = False,
                 num_heads: int | None = None, bpe: str | Path | None = None, device: str = "cpu") -> None:
        self.path = Path(path).expanduser().resolve()
        self.tokenizer_path = Path(tokenizer).expanduser().resolve() if tokenizer else None
        self.normalize = bool(normalize)
        self.num_heads = num_heads
        self.bpe = str(bpe) if bpe else None
        self.device = torch.device(device)
        if self.path.is_dir():
            model, self.projected = load_hf_clip_text(self.path)
        elif self.path.is_file():
            model, self.projected = load_openai_clip_text(self.path, num_heads), True
        else:
            raise InputError(self.path, "CLIP model not found (give an HF folder or an OpenAI checkpoint file)")
        self.model = freeze(model).to(self.device)
        self.tokenizer = self._load_tokenizer()
        self.max_length = int(self.model.config.max_position_embeddings)
        logger.info("loaded CLIP text encoder from %s (dim %d)", self.path, self.dim)

    def _load_tokenizer(self) -> Any:
        """User tokenizer folder, else tokenizer files beside the model, else OpenAI's BPE built offline."""
        if self.tokenizer_path is not None:
            return load_hf_tokenizer(self.tokenizer_path)
        if self.path.is_dir() and any((self.path / f).is_file() for f in TOKENIZER_FILES):
            return load_hf_tokenizer(self.path)
        if self.model.config.vocab_size != VOCAB_SIZE:
            raise InputError(self.path, f"model vocabulary has {self.model.config.vocab_size} tokens, OpenAI's "
                                        f"BPE has {VOCAB_SIZE}: give a matching tokenizer folder")
        return build_clip_tokenizer(self.bpe)

    @property
    def dim(self) -> int:
        """Projection size P (512 for ViT-B/32), or the hidden size for an unprojected model."""
        cfg = self.model.config
        return int(cfg.projection_dim if self.projected else cfg.hidden_size)

    def frozen_parameters(self) -> list[torch.nn.Parameter]:
        """All model parameters (requires_grad False)."""
        return list(self.model.parameters())

    def _encode(self, prompts: list[str]) -> torch.Tensor:
        """Tokenise (≤ 77 tokens), run the text tower, take the (projected) EOT embedding (N, P)."""
        batch = self.tokenizer(prompts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self.device)
        out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        emb = out.text_embeds if self.projected else out.pooler_output  # (N, P)
        return l2_normalize(emb) if self.normalize else emb

    def config(self) -> dict[str, Any]:
        """Kwargs that rebuild this encoder."""
        return {"name": self.name, "path": str(self.path),
                "tokenizer": str(self.tokenizer_path) if self.tokenizer_path else None,
                "normalize": self.normalize, "num_heads": self.num_heads, "bpe": self.bpe}


register_text_encoder("clip")(ClipTextEncoder)
