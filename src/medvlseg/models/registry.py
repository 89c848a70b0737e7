"""The model registries: parts (backbones, adapters, fusion, heads), presets and whole architectures.

Each is a `medvlseg.utils.registry.Registry` that imports the module defining a built-in name the first time
that name is built (e.g. `BACKBONES.build("unet3d", ...)` imports `medvlseg.models.backbones.unet3d`, whose
`@BACKBONES.register("unet3d")` fills the entry). New parts register with the same decorator.
"""

from __future__ import annotations

from typing import Any

from medvlseg.utils.registry import Registry

_PKG = "medvlseg.models"

BACKBONES: Registry[Any] = Registry("backbone", {
    "unet3d": f"{_PKG}.backbones.unet3d", "monai_unet": f"{_PKG}.backbones.monai_nets",
    "dynunet": f"{_PKG}.backbones.monai_nets", "segresnet": f"{_PKG}.backbones.monai_nets"})
TEXT_ADAPTERS: Registry[Any] = Registry("text adapter", {
    "lacaf": f"{_PKG}.adapters.text_adapter", "linear": f"{_PKG}.adapters.text_adapter"})
IMAGE_ADAPTERS: Registry[Any] = Registry("image adapter", {
    "mlp": f"{_PKG}.adapters.image_adapter", "linear": f"{_PKG}.adapters.image_adapter"})
FUSIONS: Registry[Any] = Registry("fusion", {
    "add": f"{_PKG}.fusion.add", "concat": f"{_PKG}.fusion.concat", "cross_attention": f"{_PKG}.fusion.cross_attention"})
HEADS: Registry[Any] = Registry("head", {"dynamic": f"{_PKG}.heads.dynamic_head", "softmax": f"{_PKG}.heads.softmax_head"})
PRESETS: Registry[Any] = Registry("model preset", dict.fromkeys(
    ("lacaf", "universal", "unet", "medvlm", "segevolution", "segvol"), f"{_PKG}.presets"))
# Whole-model constructors `fn(config: ModelConfig) -> nn.Module` for families that are not SegModel part
# assemblies (Med-VLM, SegEVOLution); selected by `ModelConfig.architecture`.
ARCHITECTURES: Registry[Any] = Registry("model architecture", {
    "medvlm": f"{_PKG}.medvlm.model", "segevolution": f"{_PKG}.segevolution.model"})
