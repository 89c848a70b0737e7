"""`SegEvoOptions`: the settings of a SegVol / SegEVOLution model, stored in `ModelConfig.options` (voxels, dims)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from medvlseg.errors import ConfigError


@dataclass
class SegEvoOptions:
    """Encoder (patch voxels, width, depth), decoder, Mixture-of-Adapters and context-prior settings."""

    patch: int = 8  # ViT patch edge, voxels (a power of two; the model's size divisor)
    dim: int = 96  # ViT width
    depth: int = 4  # ViT blocks
    heads: int = 4  # ViT attention heads
    mlp_ratio: float = 4.0
    pos_grid: int = 8  # learnable positional embedding grid edge (resized to the token grid)
    decoder_dim: int = 64
    decoder_depth: int = 2  # two-way attention layers
    decoder_heads: int = 4
    image_skip: bool = True  # full-resolution conv skip into the mask features (not in SegVol)
    moa: bool = True  # top-1 Mixture-of-Adapters in the encoder blocks
    modalities: list[str] = field(default_factory=lambda: ["ct", "mri"])  # declared input modalities
    identity_modalities: list[str] = field(default_factory=lambda: ["ct"])  # routed to the identity adapter
    lora_rank: int = 4
    lora_alpha: float = 8.0
    priors: bool = True  # context prior pool + prior fusion + posterior prototypes
    prior_tokens: int = 2  # tokens per task (class) and per modality
    prior_temperature: float = 0.1  # free-text prompt → class prior mixing temperature
    spatial_prompt_prob: float = 0.5  # training steps that also get box/point prompts drawn from the labels

    def __post_init__(self) -> None:
        for name in ("patch", "dim", "depth", "heads", "decoder_dim", "decoder_depth", "decoder_heads",
                     "lora_rank", "prior_tokens", "pos_grid"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"segevolution option {name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= float(self.spatial_prompt_prob) <= 1.0:
            raise ConfigError(f"spatial_prompt_prob must be in [0, 1], got {self.spatial_prompt_prob}")
        self.modalities = [str(m).lower() for m in self.modalities]
        self.identity_modalities = [str(m).lower() for m in self.identity_modalities]
        if not self.modalities or len(set(self.modalities)) != len(self.modalities):
            raise ConfigError(f"segevolution option modalities must be distinct names, got {self.modalities}")
        if not set(self.identity_modalities) <= set(self.modalities):
            raise ConfigError(f"identity_modalities {self.identity_modalities} not all in {self.modalities}")

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> SegEvoOptions:
        """Options from a ModelConfig.options dict; unknown keys raise ConfigError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown segevolution options {unknown}; known: {sorted(known)}")
        return cls(**options)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for ModelConfig.options (JSON/YAML-serialisable)."""
        return asdict(self)


LIGHT = SegEvoOptions()
FULL = SegEvoOptions(patch=16, dim=768, depth=12, heads=12, decoder_dim=256, decoder_heads=8, lora_rank=8,
                     lora_alpha=16.0, prior_tokens=4)
