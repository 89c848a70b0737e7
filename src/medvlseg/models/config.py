"""`ModelConfig`: the dataclass that fully describes a model (serialised with medvlseg.utils.config).

A model is a combination of registered parts: backbone → (bottleneck, decoder features); text adapter (K, E) →
(K, D); image adapter bottleneck → (B, D); fusion → (B, K, D_fused); head → logits. Presets in
`medvlseg.models.presets` return values of this class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BackboneConfig:
    """Backbone choice; `width` scales every channel count, `variant` is "paper" or "light"."""

    name: str = "unet3d"
    width: float = 1.0
    variant: str = "paper"
    norm: str = "batch"
    refine_channels: int = 8
    pretrained: str = ""

    def __post_init__(self) -> None:
        if self.width <= 0:
            raise ValueError(f"backbone.width must be > 0, got {self.width}")
        if self.variant not in ("paper", "light"):
            raise ValueError(f"backbone.variant must be 'paper' or 'light', got {self.variant!r}")
        if self.norm not in ("batch", "batch_stats", "instance"):
            raise ValueError(f"backbone.norm must be batch, batch_stats or instance, got {self.norm!r}")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a SegModel; dims are feature lengths, counts are channels."""

    preset: str = "lacaf"
    architecture: str = "segmodel"  # "segmodel" (parts below) or a name in models.registry.ARCHITECTURES
    options: dict[str, Any] = field(default_factory=dict)  # free-form settings of a non-segmodel architecture
    in_channels: int = 2
    num_classes: int = 4
    text_dim: int = 512
    embed_dim: int = 256
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    text_adapter: str = "lacaf"
    adapter_rank: int = 64
    adapter_heads: int = 4
    image_adapter: str = "mlp"
    fusion: str = "cross_attention"
    fusion_heads: int = 4
    head: str = "dynamic"
    head_channels: int = 8
    controller_hidden: int = 0
    freeze: list[str] = field(default_factory=list)
    learn_class_embeddings: bool = False  # class embeddings become trainable (the "no text" ablation)

    def __post_init__(self) -> None:
        for name in ("in_channels", "num_classes", "text_dim", "embed_dim", "head_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def activation(self) -> str:
        """"softmax" for the softmax head (channel 0 = background), else "sigmoid"."""
        return "softmax" if self.head == "softmax" else "sigmoid"
