"""LACAF cross-attention fusion (seed 002, eq. 7): query text, key text + image, value image, then an MLP.

Per sample b: H_f = softmax(q(H_t) k(H_t + H_v(b))ᵀ / √d) v(H_v(b)), with H_v(b) the image embedding repeated K
times. Note: because every value row is the same repeated image embedding, the attention output alone is the same
for every class and does not depend on the attention weights, so the q and k projections receive (numerically)
zero gradient — a property of eq. 7 as published, kept here. A residual on the query (H_t + attention, LayerNorm,
as in a standard transformer block) keeps the fused feature class-specific before the MLP. Output (B, K, D).
"""

from __future__ import annotations

import torch
from torch import nn

from medvlseg.models.adapters.text_adapter import _divisor_heads
from medvlseg.models.registry import FUSIONS


class CrossAttentionFusion(nn.Module):
    """nn.MultiheadAttention over the K class tokens of each sample, residual + LayerNorm, then an MLP."""

    def __init__(self, dim: int, heads: int = 4, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, _divisor_heads(dim, heads), batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))
        self.norm2 = nn.LayerNorm(dim)
        self.out_dim = dim

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Text features (K, D) and image embeddings (B, D) → fused (B, K, D)."""
        b, k = image.shape[0], text.shape[0]
        h_t = text.unsqueeze(0).expand(b, k, -1)  # (B, K, D)
        h_v = image.unsqueeze(1).expand(b, k, -1)  # (B, K, D): rep(H_v, K)
        attended, _ = self.attn(h_t, h_t + h_v, h_v, need_weights=False)  # (B, K, D)
        x = self.norm1(h_t + attended)  # (B, K, D)
        return self.norm2(x + self.mlp(x))  # (B, K, D)


@FUSIONS.register("cross_attention")
def build_cross_attention(dim: int, heads: int) -> nn.Module:
    """Registered builder for the LACAF cross-attention fusion (output dim = D)."""
    return CrossAttentionFusion(dim, heads)
