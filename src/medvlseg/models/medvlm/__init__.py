"""Med-VLM (seed 003): LoRA-adapted frozen ViT + BERT-family encoders, 4x feature mixer, dilated-conv decoder.

`model.build_medvlm` is the architecture `medvlm` (models.registry.ARCHITECTURES); the preset `medvlm` lives in
models.presets like every other preset.
Public API: `MedVLM`, `MedVLMOptions`, `default_options(light)`.
"""

from __future__ import annotations

from medvlseg.models.medvlm.model import MedVLM, build_medvlm
from medvlseg.models.medvlm.options import MedVLMOptions, default_options

__all__ = ["MedVLM", "MedVLMOptions", "build_medvlm", "default_options"]
