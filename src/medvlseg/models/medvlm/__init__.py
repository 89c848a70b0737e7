"""Med-VLM (seed 003): LoRA-adapted frozen ViT + BERT-family encoders, 4x feature mixer, dilated-conv decoder.

Registers the architecture `medvlm` (models.registry.ARCHITECTURES) and the preset `medvlm` (PRESETS).
Public API: `MedVLM`, `MedVLMOptions`, `default_options(light)`.
"""

from __future__ import annotations

from medvlseg.models.config import ModelConfig
from medvlseg.models.medvlm.model import MedVLM, build_medvlm
from medvlseg.models.medvlm.options import ARCHITECTURE, MedVLMOptions, default_options, options_dict
from medvlseg.models.registry import ARCHITECTURES, PRESETS

ARCHITECTURES.register(ARCHITECTURE)(build_medvlm)


@PRESETS.register("medvlm")
def medvlm(light: bool = False, num_classes: int = 4, text_dim: int = 384, in_channels: int = 2) -> ModelConfig:
    """Med-VLM: ViT-base (light: patch 8, 96-d, depth 2) + MiniLM text model, LoRA r=8, 4 mixers; sigmoid."""
    return ModelConfig(preset="medvlm", architecture=ARCHITECTURE, options=options_dict(default_options(light)),
                       in_channels=in_channels, num_classes=num_classes, text_dim=text_dim, head="dynamic")


__all__ = ["MedVLM", "MedVLMOptions", "default_options", "medvlm"]
