"""Presets: registered functions returning `ModelConfig` values (not subclasses).

`lacaf` (seed 002): per-class text adapters + MLP image adapter + cross-attention + dynamic head.
`universal` (CLIP-Driven Universal Model): linear text/image projections, concat fusion, dynamic head.
`unet`: plain 3D U-Net, softmax over background + K classes, no text.
Paper-width presets use the Universal-Model U-Net with always-batch-statistics norm (so published weights
reproduce); `light=True` gives width 0.25 + stride-2 stem + full-resolution refinement for CPU training/demo.
"""

from __future__ import annotations

from typing import Any

from medvlseg.models.config import BackboneConfig, ModelConfig
from medvlseg.models.registry import PRESETS
from medvlseg.utils.config import override


def _backbone(light: bool) -> BackboneConfig:
    """Paper-width U-Net (batch-statistics norm) or the light CPU variant (width 0.25, stride-2 stem)."""
    if light:
        return BackboneConfig(name="unet3d", width=0.25, variant="light", norm="batch")
    return BackboneConfig(name="unet3d", width=1.0, variant="paper", norm="batch_stats")


@PRESETS.register("lacaf")
def lacaf(light: bool = False, num_classes: int = 4, text_dim: int = 512, in_channels: int = 2) -> ModelConfig:
    """LACAF: text adapters + image adapter + cross-attention fusion + dynamic head (sigmoid per class)."""
    return ModelConfig(
        preset="lacaf", in_channels=in_channels, num_classes=num_classes, text_dim=text_dim,
        embed_dim=64 if light else 256, backbone=_backbone(light), text_adapter="lacaf",
        adapter_rank=32 if light else 64, adapter_heads=4, image_adapter="mlp", fusion="cross_attention",
        fusion_heads=4, head="dynamic", head_channels=8,
    )


@PRESETS.register("universal")
def universal(light: bool = False, num_classes: int = 4, text_dim: int = 512, in_channels: int = 2) -> ModelConfig:
    """CLIP-Driven Universal Model: Linear+ReLU text, pooled Linear image, concat → 2D → controller → 153."""
    return ModelConfig(
        preset="universal", in_channels=in_channels, num_classes=num_classes, text_dim=text_dim,
        embed_dim=64 if light else 256, backbone=_backbone(light), text_adapter="linear", image_adapter="linear",
        fusion="concat", head="dynamic", head_channels=8,
    )


@PRESETS.register("unet")
def unet(light: bool = False, num_classes: int = 4, text_dim: int = 512, in_channels: int = 2) -> ModelConfig:
    """Plain 3D U-Net baseline: softmax head over background + K classes, no text path."""
    backbone = _backbone(light)
    backbone.norm = "batch"
    return ModelConfig(
        preset="unet", in_channels=in_channels, num_classes=num_classes, text_dim=text_dim,
        backbone=backbone, text_adapter="none", image_adapter="none", fusion="none", head="softmax",
    )


def _segevo(name: str, light: bool, num_classes: int, text_dim: int, in_channels: int, moa: bool,
            priors: bool) -> ModelConfig:
    """ModelConfig of the `segevolution` architecture (seed 004) with MoA / context priors on or off."""
    from dataclasses import replace

    from medvlseg.models.segevolution.options import FULL, LIGHT

    opts = replace(LIGHT if light else FULL, moa=moa, priors=priors)
    return ModelConfig(
        preset=name, architecture="segevolution", options=opts.to_dict(), in_channels=in_channels,
        num_classes=num_classes, text_dim=text_dim, embed_dim=opts.decoder_dim, text_adapter="none",
        image_adapter="none", fusion="none", head="mask_decoder",
    )


@PRESETS.register("segevolution")
def segevolution(light: bool = False, num_classes: int = 4, text_dim: int = 512, in_channels: int = 2) -> ModelConfig:
    """SegEVOLution (seed 004): SegVol-style ViT + prompts + mask decoder, top-1 MoA (CT identity, MRI LoRA),
    context priors with posterior prototypes. light: patch 8, width 96, depth 4; full: patch 16, 768, 12."""
    return _segevo("segevolution", light, num_classes, text_dim, in_channels, moa=True, priors=True)


@PRESETS.register("segvol")
def segvol(light: bool = False, num_classes: int = 4, text_dim: int = 512, in_channels: int = 2) -> ModelConfig:
    """SegVol baseline of seed 004: the `segevolution` model without Mixture-of-Adapters and context priors."""
    return _segevo("segvol", light, num_classes, text_dim, in_channels, moa=False, priors=False)


@PRESETS.register("medvlm")
def medvlm(light: bool = False, num_classes: int = 4, text_dim: int = 384, in_channels: int = 2) -> ModelConfig:
    """Med-VLM: ViT-base (light: patch 8, 96-d, depth 2) + MiniLM text model, LoRA r=8, 4 mixers; sigmoid."""
    from medvlseg.models.medvlm.options import ARCHITECTURE, default_options, options_dict

    return ModelConfig(preset="medvlm", architecture=ARCHITECTURE, options=options_dict(default_options(light)),
                       in_channels=in_channels, num_classes=num_classes, text_dim=text_dim, head="dynamic")


def get_preset(name: str, light: bool = False, **overrides: Any) -> ModelConfig:
    """ModelConfig of preset `name`; `overrides` are dotted keys, e.g. {"backbone.width": 0.5, "num_classes": 2}."""
    config = PRESETS.build(name, light=light)
    return override(config, **overrides) if overrides else config
