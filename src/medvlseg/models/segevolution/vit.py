"""3D ViT image encoder over non-overlapping volume patches (SegVol's encoder, sized by options), MoA-ready.

Hand-written: MONAI's ViT fixes the image size at construction and has no per-sample adapter routing; here the
learnable positional embedding lives on a coarse grid and is trilinearly resized to any token grid, and every
linear layer of the blocks can be a `MoALinear`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medvlseg.models.segevolution.moa import make_linear


class Attention(nn.Module):
    """Multi-head self-attention with (MoA-capable) qkv and output projections."""

    def __init__(self, dim: int, heads: int, experts: Sequence[str] | None, rank: int, alpha: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"ViT dim {dim} must be divisible by heads {heads}")
        self.heads = heads
        self.qkv = make_linear(dim, 3 * dim, experts, rank, alpha)
        self.proj = make_linear(dim, dim, experts, rank, alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, N, D) → (B, N, D)."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, H, N, D/H)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: x + Attn(LN(x)); x + MLP(LN(x)) (GELU), linears MoA-capable."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, experts: Sequence[str] | None, rank: int,
                 alpha: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, experts, rank, alpha)
        self.fc1 = make_linear(dim, hidden, experts, rank, alpha)
        self.fc2 = make_linear(hidden, dim, experts, rank, alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, N, D) → (B, N, D)."""
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViTEncoder3d(nn.Module):
    """image (B, C, X, Y, Z), X/Y/Z multiples of `patch` → tokens (B, N, D) and the token grid (x, y, z)."""

    def __init__(self, in_channels: int, patch: int, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0,
                 pos_grid: int = 8, experts: Sequence[str] | None = None, rank: int = 4,
                 alpha: float = 8.0) -> None:
        super().__init__()
        self.patch = patch
        self.embed = nn.Conv3d(in_channels, dim, kernel_size=patch, stride=patch)
        self.pos = nn.Parameter(torch.zeros(1, dim, pos_grid, pos_grid, pos_grid))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, experts, rank, alpha) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Patch-embed, add the resized positional embedding, run the blocks, final LayerNorm."""
        x = self.embed(image)  # (B, D, x, y, z)
        grid = tuple(int(s) for s in x.shape[2:])
        pos = self.pos if tuple(self.pos.shape[2:]) == grid else F.interpolate(
            self.pos, size=grid, mode="trilinear", align_corners=False)
        x = (x + pos).flatten(2).transpose(1, 2)  # (B, N, D)
        for block in self.blocks:
            x = block(x)
        return self.norm(x), grid  # type: ignore[return-value]
