"""`SegEvolution`: SegVol-style promptable 3-D model (ViT encoder, text/box/point prompts, SAM-style mask decoder)
with seed 004's top-1 Mixture-of-Adapters and context priors; with both switched off it is the `segvol` baseline.

Contract (docs/architecture.md, models): `.config`, `.activation` "sigmoid", `.size_divisor` (= patch, voxels),
`.text_conditioned`, buffer `class_embeddings` (K, E), `set_class_embeddings`, `parameter_counts`, and
`forward(image, text_embeddings=None)` → logits (B, K, X, Y, Z), one mask per text prompt. Extensions:
keyword-only `boxes` (B[, K], 2, 3), `points` (B[, K], P, 3) + `point_labels` (B[, K], P) in unit window
coordinates (`prompts.voxel_to_unit`), and `modality` (a name or one per sample; default: the `modality`
attribute, "ct"), which drives the MoA gate and selects the modality priors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medvlseg.models.config import ModelConfig
from medvlseg.models.contract import ModelContract
from medvlseg.models.registry import ARCHITECTURES
from medvlseg.models.segevolution.decoder import MaskDecoder
from medvlseg.models.segevolution.moa import ModalityGate, set_routes
from medvlseg.models.segevolution.options import SegEvoOptions
from medvlseg.models.segevolution.priors import ContextPriors
from medvlseg.models.segevolution.prompts import PromptEncoder
from medvlseg.models.segevolution.train_prompts import training_prompts
from medvlseg.models.segevolution.vit import ViTEncoder3d


class SegEvolution(ModelContract, nn.Module):
    """image (B, C_in, X, Y, Z) + K text prompts [+ box/point prompts] → mask logits (B, K, X, Y, Z)."""

    accepts_modality = True  # the trainer passes each patch's modality (case meta) as `modality=`
    accepts_spatial_prompts = True  # predict --box / --point (infer.spatial_prompts)
    ddp_find_unused_parameters = True  # LoRA (CT-only batches) and box/point embeddings are not used every step

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        opts = SegEvoOptions.from_dict(dict(config.options))
        self.config, self.options = config, opts
        self.activation = "sigmoid"
        self.size_divisor = int(opts.patch)
        self.modality = "ct"
        self.gate = ModalityGate(opts.modalities, opts.identity_modalities)
        experts = self.gate.experts if opts.moa else None
        self.encoder = ViTEncoder3d(config.in_channels, opts.patch, opts.dim, opts.depth, opts.heads,
                                    opts.mlp_ratio, opts.pos_grid, experts, opts.lora_rank, opts.lora_alpha)
        self.neck = nn.Sequential(nn.Linear(opts.dim, opts.decoder_dim), nn.LayerNorm(opts.decoder_dim))
        self.prompt_encoder = PromptEncoder(config.text_dim, opts.decoder_dim)
        self.decoder = MaskDecoder(opts.decoder_dim, opts.decoder_heads, opts.decoder_depth, opts.patch,
                                   config.in_channels, opts.image_skip)
        self.priors = ContextPriors(config.num_classes, len(opts.modalities), opts.prior_tokens, opts.decoder_dim,
                                    opts.decoder_heads, self.decoder.out_channels, opts.prior_temperature,
                                    ) if opts.priors else None
        self.register_buffer("class_embeddings", torch.zeros(config.num_classes, config.text_dim))

    @property
    def text_conditioned(self) -> bool:
        """Always True: every output mask answers one text prompt."""
        return True

    def training_prompts(self, label: torch.Tensor, seed: int, step: int) -> dict[str, torch.Tensor]:
        """Box/point prompt kwargs drawn from a training label (B, X, Y, Z) for `spatial_prompt_prob` of the
        steps (deterministic in seed and step), else {}; see train_prompts."""
        return training_prompts(label, self.config.num_classes, seed, step, self.options.spatial_prompt_prob)

    def _modalities(self, modality: str | Sequence[str] | None, batch: int) -> list[str]:
        """One modality name per sample (lower case), checked against the declared ones."""
        modality = self.modality if modality is None else modality
        names = [modality] * batch if isinstance(modality, str) else [str(m) for m in modality]
        if len(names) != batch:
            raise ValueError(f"got {len(names)} modalities for a batch of {batch}")
        for name in names:
            self.gate.route(name)  # ValueError for undeclared modalities
        return [n.lower() for n in names]

    def encode_image(self, image: torch.Tensor, modalities: list[str]) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """ViT tokens (B, N, D) with each sample routed through its modality's adapter, and the token grid."""
        routes = self.gate.groups(modalities) if self.options.moa else {}
        set_routes(self.encoder, routes)
        try:
            return self.encoder(image)
        finally:
            set_routes(self.encoder, {})

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None, *,
                boxes: torch.Tensor | None = None, points: torch.Tensor | None = None,
                point_labels: torch.Tensor | None = None,
                modality: str | Sequence[str] | None = None) -> torch.Tensor:
        """image (B, C_in, X, Y, Z) float32 (edges multiples of `size_divisor`) → logits (B, K, X, Y, Z)."""
        c = self.config.in_channels
        if image.ndim != 5 or image.shape[1] != c:
            raise ValueError(f"image must be (B, {c}, X, Y, Z), got {tuple(image.shape)}")
        if any(s % self.size_divisor for s in image.shape[2:]):
            raise ValueError(f"image edges {tuple(image.shape[2:])} must be multiples of {self.size_divisor}")
        text = self.class_embeddings if text_embeddings is None else text_embeddings.to(self.class_embeddings)
        if text.ndim != 2 or text.shape[1] != self.config.text_dim:
            raise ValueError(f"text embeddings must be (K, {self.config.text_dim}), got {tuple(text.shape)}")
        b = image.shape[0]
        mods = self._modalities(modality, b)
        tokens, grid = self.encode_image(image, mods)
        img = self.neck(tokens)  # (B, N, Dd)
        pe = self.prompt_encoder.pe.dense(grid).to(img)  # (N, Dd)
        prompts, _ = self.prompt_encoder(text, b, boxes, points, point_labels)  # (B, K, T, Dd)
        n_prior = 0
        if self.priors is not None:
            index = torch.as_tensor([self.options.modalities.index(m) for m in mods], device=image.device)
            task = self.priors.task_priors(text, None if text_embeddings is None else self.class_embeddings)
            fused = self.priors(task, index, img, pe, prompts)  # (B*K, 2n, Dd)
            n_prior = fused.shape[1]
            prompts = torch.cat([prompts, fused.view(b, text.shape[0], n_prior, -1)], dim=2)
        hyper, feats, out_tokens = self.decoder(img, grid, pe, prompts, image)
        if self.priors is not None:
            hyper = hyper + self.priors.prototype(out_tokens[:, -n_prior:])
        return self.decoder.masks(hyper, feats)


@ARCHITECTURES.register("segevolution")
def build_segevolution(config: ModelConfig) -> SegEvolution:
    """ARCHITECTURES constructor for `segevolution` / `segvol` configs."""
    return SegEvolution(config)
