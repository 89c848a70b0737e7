"""`SegModel`: a backbone, optional text/image adapters and fusion, and a head, assembled by `build_model`.

Text-conditioned models (sigmoid, dynamic head) read class embeddings (K, E) from the `class_embeddings` buffer
(stored in checkpoints, so predict needs no text model) or from `text_embeddings` passed to `forward`.
The `unet` preset has no text path: softmax head, output channel 0 = background.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from medvlseg.errors import ConfigError
from medvlseg.models.config import ModelConfig
from medvlseg.models.contract import ModelContract
from medvlseg.models.registry import ARCHITECTURES, BACKBONES, FUSIONS, HEADS, IMAGE_ADAPTERS, TEXT_ADAPTERS

log = logging.getLogger(__name__)

NONE = "none"


class SegModel(ModelContract, nn.Module):
    """image (B, C_in, X, Y, Z) → logits (B, K, X, Y, Z) (sigmoid) or (B, K+1, X, Y, Z) (softmax)."""

    def __init__(
        self,
        config: ModelConfig,
        backbone: nn.Module,
        head: nn.Module,
        text_adapter: nn.Module | None = None,
        image_adapter: nn.Module | None = None,
        fusion: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.activation = config.activation
        self.backbone = backbone
        self.text_adapter = text_adapter
        self.image_adapter = image_adapter
        self.fusion = fusion
        self.head = head
        self.size_divisor: int = int(backbone.size_divisor)
        init = torch.zeros(config.num_classes, config.text_dim)
        if config.learn_class_embeddings:  # learned per-class vectors instead of frozen text (ablation)
            self.class_embeddings = nn.Parameter(init)
        else:
            self.register_buffer("class_embeddings", init)

    @property
    def text_conditioned(self) -> bool:
        """True when the output classes come from text embeddings (dynamic head)."""
        return self.fusion is not None

    def encode_text(self, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """Frozen embeddings (K, E) (default: the stored buffer) → adapted text features (K, D)."""
        text = self.class_embeddings if text_embeddings is None else text_embeddings
        if text.ndim != 2 or text.shape[1] != self.config.text_dim:
            raise ValueError(f"text embeddings must be (K, {self.config.text_dim}), got {tuple(text.shape)}")
        assert self.text_adapter is not None
        return self.text_adapter(text.to(self.class_embeddings))

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """image (B, C_in, X, Y, Z) float32 [+ text (K, E)] → logits (B, K, X, Y, Z) or (B, K+1, X, Y, Z)."""
        if image.ndim != 5 or image.shape[1] != self.config.in_channels:
            raise ValueError(f"image must be (B, {self.config.in_channels}, X, Y, Z), got {tuple(image.shape)}")
        bottleneck, features = self.backbone(image)  # (B, Cb, x, y, z), (B, Cd, X, Y, Z)
        if not self.text_conditioned:
            if text_embeddings is not None:
                raise ValueError(f"the {self.config.preset!r} model is not text-conditioned; prompts are not used")
            return self.head(features)  # (B, K+1, X, Y, Z)
        assert self.image_adapter is not None and self.fusion is not None
        h_t = self.encode_text(text_embeddings)  # (K, D)
        h_v = self.image_adapter(bottleneck)  # (B, D)
        fused = self.fusion(h_t, h_v)  # (B, K, D_fused)
        return self.head(features, fused)  # (B, K, X, Y, Z)


def _freeze(model: nn.Module, prefixes: list[str]) -> None:
    """Set requires_grad False on every parameter under each dotted module prefix (e.g. "backbone.enc1")."""
    names = [name for name, _ in model.named_parameters()]
    for prefix in prefixes:
        hits = [n for n in names if n == prefix or n.startswith(prefix + ".")]
        if not hits:
            raise ConfigError(f"freeze: no parameters under {prefix!r}")
        for name, param in model.named_parameters():
            if name in hits:
                param.requires_grad_(False)


def build_model(config: ModelConfig) -> nn.Module:
    """Assemble a SegModel from registered parts named in `config` (loads `backbone.pretrained` if set).

    Other architectures (`config.architecture` != "segmodel") are built by their ARCHITECTURES constructor; they
    honour the same contract: `.config`, `.activation`, `.size_divisor`, `.text_conditioned`, a `class_embeddings`
    buffer, `set_class_embeddings`, `parameter_counts` and `forward(image, text_embeddings=None)`.
    """
    if config.architecture != "segmodel":
        model = ARCHITECTURES.build(config.architecture, config)
        _freeze(model, list(config.freeze))
        return model
    backbone = BACKBONES.build(config.backbone.name, config.in_channels, config.backbone)
    text_adapter = image_adapter = fusion = None
    fused_dim = 0
    if config.head != "softmax":
        if NONE in (config.text_adapter, config.image_adapter, config.fusion):
            raise ConfigError(f"head {config.head!r} needs a text adapter, an image adapter and a fusion")
        d = config.embed_dim
        text_adapter = TEXT_ADAPTERS.build(
            config.text_adapter, config.num_classes, config.text_dim, d, config.adapter_rank, config.adapter_heads
        )
        image_adapter = IMAGE_ADAPTERS.build(config.image_adapter, backbone.bottleneck_channels, d)
        fusion = FUSIONS.build(config.fusion, d, config.fusion_heads)
        fused_dim = fusion.out_dim
    head = HEADS.build(
        config.head, backbone.decoder_channels, config.num_classes, fused_dim, config.head_channels,
        config.controller_hidden,
    )
    model = SegModel(config, backbone, head, text_adapter, image_adapter, fusion)
    if config.backbone.pretrained:
        from medvlseg.models.backbones.universal_weights import load_universal_weights

        load_universal_weights(model.backbone, config.backbone.pretrained)
    _freeze(model, list(config.freeze))
    log.debug("built %s model: %s", config.preset, model.parameter_counts())
    return model
