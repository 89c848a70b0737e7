"""Segmentation models as swappable registered parts (backbones, adapters, fusion, heads) and presets.

Public API: `build_model(config) -> SegModel`, `get_preset(name, light=False, **overrides) -> ModelConfig`,
`save_model(stem, model, config)` / `load_model(stem) -> SegModel`, `ModelConfig`, the registries.

Contract extensions (beyond docs/architecture.md): `SegModel.size_divisor` (window sizes must be multiples of it,
in voxels: 8 paper U-Net, 16 light), `SegModel.text_conditioned`, `SegModel.encode_text(emb) -> (K, D)`;
`save_model(..., extra_tensors=, extra_meta=)` stores trainer state under `extra.` / JSON `extra`, and
`medvlseg.models.serialization.read_checkpoint(stem)` returns (config, tensors, meta). `freeze` in ModelConfig
lists module prefixes whose parameters get requires_grad False. Presets with per-class text adapters (`lacaf`)
need exactly one prompt per trained class; `universal` accepts any number of prompts.
"""

from medvlseg.models.config import BackboneConfig, ModelConfig
from medvlseg.models.model import SegModel, build_model
from medvlseg.models.presets import get_preset
from medvlseg.models.registry import ARCHITECTURES, BACKBONES, FUSIONS, HEADS, IMAGE_ADAPTERS, PRESETS, TEXT_ADAPTERS
from medvlseg.models.serialization import load_model, save_model

__all__ = [
    "ARCHITECTURES",
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
