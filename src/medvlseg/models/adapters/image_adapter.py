"""Image adapters: bottleneck feature (B, Cb, x, y, z) → one image embedding per sample (B, D).

As in the Universal Model: GroupNorm → ReLU → global average pool, then `mlp` (LACAF: Linear → ReLU → Linear)
or `linear` (Universal Model: the k1 Conv 512→256, i.e. a Linear on the pooled vector). The fusion modules
repeat the embedding K times.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from medvlseg.models.registry import IMAGE_ADAPTERS


class PooledImageAdapter(nn.Module):
    """GroupNorm → ReLU → global average pool → Linear (hidden > 0: Linear → ReLU → Linear)."""

    def __init__(self, in_channels: int, out_dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(math.gcd(16, in_channels), in_channels)
        self.act = nn.ReLU(inplace=True)
        if hidden > 0:
            self.proj: nn.Module = nn.Sequential(
                nn.Linear(in_channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim)
            )
        else:
            self.proj = nn.Linear(in_channels, out_dim)

    def forward(self, bottleneck: torch.Tensor) -> torch.Tensor:
        """(B, Cb, x, y, z) → (B, D)."""
        pooled = self.act(self.norm(bottleneck)).mean(dim=(2, 3, 4))  # (B, Cb)
        return self.proj(pooled)  # (B, D)


@IMAGE_ADAPTERS.register("mlp")
def build_mlp_image_adapter(in_channels: int, out_dim: int) -> nn.Module:
    """LACAF image adapter: pooled bottleneck → two-layer MLP (hidden = D)."""
    return PooledImageAdapter(in_channels, out_dim, hidden=out_dim)


@IMAGE_ADAPTERS.register("linear")
def build_linear_image_adapter(in_channels: int, out_dim: int) -> nn.Module:
    """Universal-Model image feature: pooled bottleneck → Linear (the published k1 conv)."""
    return PooledImageAdapter(in_channels, out_dim, hidden=0)
