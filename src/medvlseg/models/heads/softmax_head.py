"""Plain U-Net head: GroupNorm → ReLU → Conv Cd→K+1 (k1); softmax over background + K classes."""

from __future__ import annotations

import math

import torch
from torch import nn

from medvlseg.models.registry import HEADS


class SoftmaxHead(nn.Module):
    """Fixed-class head; channel 0 of the output is background."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.GroupNorm(math.gcd(16, in_channels), in_channels),
            nn.ReLU(inplace=True),
            nn.Conv3d(in_channels, num_classes + 1, kernel_size=1),
        )

    def forward(self, features: torch.Tensor, fused: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder features (B, Cd, X, Y, Z) → logits (B, K+1, X, Y, Z); `fused` is ignored."""
        return self.net(features)


@HEADS.register("softmax")
def build_softmax_head(
    in_channels: int, num_classes: int, fused_dim: int, channels: int, controller_hidden: int
) -> nn.Module:
    """Registered builder for the softmax head (fusion and dynamic-conv settings unused)."""
    return SoftmaxHead(in_channels, num_classes)
