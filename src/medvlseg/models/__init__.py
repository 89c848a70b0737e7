"""Segmentation models as swappable registered parts (backbones, adapters, fusion, heads) and presets.

Public API: `build_model(config) -> SegModel`, `get_preset(name, light=False, **overrides) -> ModelConfig`,
`save_model(stem, model, config)` / `load_model(stem) -> SegModel`, `ModelConfig`, the registries.
"""

from medvlseg.models import adapters, backbones, fusion, heads  # noqa: F401  (register the parts)
from medvlseg.models.config import BackboneConfig, ModelConfig
from medvlseg.models.model import SegModel, build_model
from medvlseg.models.presets import get_preset
from medvlseg.models.registry import BACKBONES, FUSIONS, HEADS, IMAGE_ADAPTERS, PRESETS, TEXT_ADAPTERS
from medvlseg.models.serialization import load_model, save_model

__all__ = [
    "BACKBONES",
    "FUSIONS",
    "HEADS",
    "IMAGE_ADAPTERS",
    "PRESETS",
    "TEXT_ADAPTERS",
    "BackboneConfig",
    "ModelConfig",
    "SegModel",
    "build_model",
    "get_preset",
    "load_model",
    "save_model",
]
