"""`MedVLMOptions`: the settings of the Med-VLM architecture (seed 003), stored in `ModelConfig.options`.

Full size follows the paper (section 3, 4.1): ViT-base image encoder (patch 16, 768-d, 12 layers), BERT-base-style
text encoder, LoRA rank 8 on both, a 4x stacked feature mixer. `light=True` gives a tiny CPU variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medvlseg.errors import ConfigError
from medvlseg.utils.config import from_dict, to_dict

ARCHITECTURE = "medvlm"


@dataclass
class ImageEncoderOptions:
    """ViT over 2D axial slices: patch edge (pixels), width, depth, heads; `weights` a local .safetensors file."""

    patch: int = 16
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_dim: int = 3072
    image_size: int = 96  # slice edge (pixels) the position embeddings are laid out for (others: interpolated)
    # transformers ViTModel state dict: "mae" (shipped in-house MAE encoder, resources/models/medvlm_vit_mae), a
    # local .safetensors path (checked against <stem>.json when present) or "" → random frozen weights
    weights: str = ""


@dataclass
class MedVLMOptions:
    """Everything specific to Med-VLM (dims are feature lengths, counts are layers/heads)."""

    image: ImageEncoderOptions = field(default_factory=ImageEncoderOptions)
    # Text encoder spec: {"name": "minilm"} | {"name": "bert", "path": ...} (medvlseg.text) or
    # {"name": "random_bert", "hidden": 768, "layers": 12, "heads": 12, "mlp_dim": 3072} (BERT config, random weights).
    text: dict[str, Any] = field(default_factory=lambda: {"name": "minilm"})
    prompts: list[str] = field(default_factory=list)  # one description per class (filled by train setup)
    max_tokens: int = 128  # prompts longer than this are truncated (tokens)
    lora_rank: int = 8
    lora_alpha: float = 8.0  # scaling alpha / rank = 1: F = E(x) + L(x), as equations 2-3
    # Which frozen encoders are tuned (names kept from LoRA, the default method) and how: "lora", "adapter"
    # (bottleneck adapter after each block's feed-forward, width adapter_dim) or "prefix" (prefix_tokens learned
    # keys/values per attention layer); seed 003, Table 5.
    lora_image: bool = True
    lora_text: bool = True
    tuning: str = "lora"
    adapter_dim: int = 16  # 2 x 16 x d per layer: the parameter count of rank-8 LoRA on query and value
    prefix_tokens: int = 16  # 2 x 16 x d per layer: the same count again
    adapter_image_targets: list[str] = field(default_factory=lambda: [r"mlp\.fc2"])  # regexes, end of name
    adapter_text_targets: list[str] = field(default_factory=lambda: [r"layer\.\d+\.output\.dense"])
    lora_image_targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    lora_text_targets: list[str] = field(default_factory=lambda: ["query", "value"])
    mixer_dim: int = 256
    mixer_heads: int = 8
    mixer_mlp_dim: int = 1024
    mixer_depth: int = 4
    class_queries: bool = False  # learned per-class vector added to the text tokens (needed for "none" prompts)
    store_frozen: bool = False  # also store frozen weights that are re-read from their source at load time

    def __post_init__(self) -> None:
        """Reject settings no model can use."""
        if self.tuning not in ("lora", "adapter", "prefix"):
            raise ValueError(f"tuning must be lora, adapter or prefix, got {self.tuning!r}")
        for name in ("lora_rank", "adapter_dim", "prefix_tokens", "mixer_dim", "mixer_heads", "mixer_mlp_dim", "mixer_depth", "max_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.mixer_dim % self.mixer_heads:
            raise ValueError(f"mixer_dim {self.mixer_dim} must be a multiple of mixer_heads {self.mixer_heads}")
        p = self.image.patch
        if p < 2 or p & (p - 1):
            raise ValueError(f"image.patch must be a power of two >= 2, got {p}")
        if self.mixer_dim >> p.bit_length() - 1 < 1:
            raise ValueError(f"mixer_dim {self.mixer_dim} too small to halve log2({p}) times in the decoder")
        if "name" not in self.text:
            raise ValueError(f"text encoder spec needs a 'name', got {self.text}")


def default_options(light: bool) -> MedVLMOptions:
    """Paper-size options, or the tiny CPU variant (patch 8, 96-d ViT of depth 2, mixer 32-d)."""
    if not light:
        return MedVLMOptions()
    return MedVLMOptions(
        image=ImageEncoderOptions(patch=8, dim=96, depth=2, heads=4, mlp_dim=384, image_size=32),
        mixer_dim=32, mixer_heads=4, mixer_mlp_dim=64,
    )


def parse_options(options: dict[str, Any]) -> MedVLMOptions:
    """`ModelConfig.options` → MedVLMOptions (unknown keys and bad values raise ConfigError)."""
    try:
        return from_dict(MedVLMOptions, dict(options), where="model.options")
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model.options: {exc}") from exc


def options_dict(options: MedVLMOptions) -> dict[str, Any]:
    """MedVLMOptions → plain dict for `ModelConfig.options`."""
    return to_dict(options)
