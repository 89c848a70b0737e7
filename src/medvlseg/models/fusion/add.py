"""Additive fusion: H_t(k) + H_v(b) for every (sample, class) → (B, K, D)."""

from __future__ import annotations

import torch
from torch import nn

from medvlseg.models.registry import FUSIONS


class AddFusion(nn.Module):
    """Elementwise sum of the text feature and the sample's image embedding."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_dim = dim

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Text (K, D) and image (B, D) → (B, K, D)."""
        return text.unsqueeze(0) + image.unsqueeze(1)  # (1, K, D) + (B, 1, D) → (B, K, D)


@FUSIONS.register("add")
def build_add(dim: int, heads: int) -> nn.Module:
    """Registered builder for additive fusion (heads unused)."""
    return AddFusion(dim)
