"""Dynamic head (Universal Model / LACAF): a controller maps each fused (sample, class) feature to θ_k, the
parameters of three 1x1x1 convolutions (C→C, ReLU, C→C, ReLU, C→1; C = 8 gives 153 numbers) applied to the
decoder features after GroupNorm → ReLU → Conv Cd→C (k1). One logit map per class, sigmoid per class.

θ layout (the Universal Model's): [w1 (C·C), w2 (C·C), w3 (C), b1 (C), b2 (C), b3 (1)], each weight row-major
(out, in). The three convolutions are batched matrix products over (sample, class) — no Python loop.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from medvlseg.models.registry import HEADS


def num_dynamic_params(channels: int) -> int:
    """Number of controller outputs per class for three dynamic 1x1x1 convs of width `channels` (8 → 153)."""
    return 2 * channels * channels + channels + 2 * channels + 1


def split_dynamic_params(theta: torch.Tensor, channels: int) -> list[torch.Tensor]:
    """θ (B, K, P) → [w1 (B,K,C,C), w2 (B,K,C,C), w3 (B,K,1,C), b1 (B,K,C,1), b2 (B,K,C,1), b3 (B,K,1,1)]."""
    c = channels
    b, k, p = theta.shape
    if p != num_dynamic_params(c):
        raise ValueError(f"expected {num_dynamic_params(c)} dynamic parameters per class, got {p}")
    w1, w2, w3, b1, b2, b3 = torch.split(theta, [c * c, c * c, c, c, c, 1], dim=-1)
    return [
        w1.reshape(b, k, c, c),  # (B, K, out, in)
        w2.reshape(b, k, c, c),  # (B, K, out, in)
        w3.reshape(b, k, 1, c),  # (B, K, 1, in)
        b1.reshape(b, k, c, 1),  # (B, K, out, 1)
        b2.reshape(b, k, c, 1),  # (B, K, out, 1)
        b3.reshape(b, k, 1, 1),  # (B, K, 1, 1)
    ]


def apply_dynamic_convs(features: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Head features (B, C, X, Y, Z) and θ (B, K, P) → logits (B, K, X, Y, Z) (three 1x1x1 convs per class).

    Hand-written (no library applies per-sample, per-class dynamic 1x1x1 convs): the first conv of all K classes
    is one (K·C × C) matrix per sample, the next two are batched over B·K; bias adds are fused (baddbmm).
    """
    b, c = features.shape[:2]
    k = theta.shape[1]
    w1, w2, w3, b1, b2, b3 = split_dynamic_params(theta, c)
    f = features.reshape(b, c, -1)  # (B, C, N), N = X·Y·Z
    h = torch.baddbmm(b1.reshape(b, k * c, 1), w1.reshape(b, k * c, c), f).relu_()  # (B, K·C, N)
    h = h.reshape(b * k, c, -1)  # (B·K, C, N)
    h = torch.baddbmm(b2.reshape(b * k, c, 1), w2.reshape(b * k, c, c), h).relu_()  # (B·K, C, N)
    out = torch.baddbmm(b3.reshape(b * k, 1, 1), w3.reshape(b * k, 1, c), h)  # (B·K, 1, N)
    return out.reshape(b, k, *features.shape[2:])  # (B, K, X, Y, Z)


class DynamicHead(nn.Module):
    """GroupNorm → ReLU → Conv Cd→C (k1) on decoder features; controller θ = Linear (or MLP) of the fusion."""

    def __init__(self, in_channels: int, fused_dim: int, channels: int = 8, controller_hidden: int = 0) -> None:
        super().__init__()
        self.pre = nn.Sequential(
            nn.GroupNorm(math.gcd(16, in_channels), in_channels),
            nn.ReLU(inplace=True),
            nn.Conv3d(in_channels, channels, kernel_size=1),
        )
        n_params = num_dynamic_params(channels)
        if controller_hidden > 0:
            self.controller: nn.Module = nn.Sequential(
                nn.Linear(fused_dim, controller_hidden),
                nn.ReLU(inplace=True),
                nn.Linear(controller_hidden, n_params),
            )
        else:
            self.controller = nn.Linear(fused_dim, n_params)

    def forward(self, features: torch.Tensor, fused: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder features (B, Cd, X, Y, Z) and fused (B, K, D_fused) → logits (B, K, X, Y, Z)."""
        if fused is None:
            raise ValueError("the dynamic head needs fused text/image features")
        theta = self.controller(fused)  # (B, K, P)
        return apply_dynamic_convs(self.pre(features), theta)


@HEADS.register("dynamic")
def build_dynamic_head(
    in_channels: int, num_classes: int, fused_dim: int, channels: int, controller_hidden: int
) -> nn.Module:
    """Registered builder for the dynamic head (class count comes from the prompts at run time)."""
    return DynamicHead(in_channels, fused_dim, channels, controller_hidden)
