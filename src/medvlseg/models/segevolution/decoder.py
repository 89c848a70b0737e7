"""Mask decoder in the SAM / SegVol manner: two-way attention between prompt tokens and image tokens,
transposed-convolution upsampling to the input resolution, one mask per prompt set (hypernetwork dot product).

Hand-written: SAM's decoder is not in MONAI or PyTorch; this follows its published structure in 3-D, with an
optional full-resolution image skip (a deviation from SegVol, for thin vessels at CPU-sized patch grids).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """Linear → GELU → Linear (→ … ) with `layers` linear layers."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, layers: int = 2) -> None:
        super().__init__()
        dims = [d_in] + [d_hidden] * (layers - 1) + [d_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d_in) → (..., d_out)."""
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.gelu(x)
        return x


class TwoWayLayer(nn.Module):
    """Token self-attention → tokens attend to image → token MLP → image attends to tokens (all post-norm)."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, skip_first_pe: bool) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.t2i = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.i2t = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = MLP(dim, mlp_dim, dim)
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.skip_first_pe = skip_first_pe

    def forward(self, q: torch.Tensor, k: torch.Tensor, q_pe: torch.Tensor, k_pe: torch.Tensor,
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens q (n, T, D), image k (n, N, D) and their positional encodings → updated (q, k)."""
        if self.skip_first_pe:
            q = self.self_attn(q, q, q, need_weights=False)[0]
        else:
            qp = q + q_pe
            q = q + self.self_attn(qp, qp, q, need_weights=False)[0]
        q = self.norms[0](q)
        q = self.norms[1](q + self.t2i(q + q_pe, k + k_pe, k, need_weights=False)[0])
        q = self.norms[2](q + self.mlp(q))
        k = self.norms[3](k + self.i2t(k + k_pe, q + q_pe, q, need_weights=False)[0])
        return q, k


class MaskDecoder(nn.Module):
    """Image tokens + per-class prompt tokens → (hypernetwork weights, upsampled features, output tokens)."""

    def __init__(self, dim: int, heads: int, depth: int, patch: int, in_channels: int, image_skip: bool = True,
                 min_channels: int = 8) -> None:
        super().__init__()
        levels = int(round(math.log2(patch)))
        if 2**levels != patch or levels < 1:
            raise ValueError(f"patch must be a power of two ≥ 2 for the upsampling decoder, got {patch}")
        self.mask_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.layers = nn.ModuleList(TwoWayLayer(dim, heads, 4 * dim, i == 0) for i in range(depth))
        self.final_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.final_norm = nn.LayerNorm(dim)
        chans = [dim] + [max(dim // 2 ** (i + 1), min_channels) for i in range(levels)]
        ups: list[nn.Module] = []
        for i in range(levels):
            ups.append(nn.ConvTranspose3d(chans[i], chans[i + 1], kernel_size=2, stride=2))
            if i < levels - 1:
                ups.append(nn.GroupNorm(1, chans[i + 1]))
            ups.append(nn.GELU())
        self.upscale = nn.Sequential(*ups)
        self.out_channels = chans[-1]
        self.hyper = MLP(dim, dim, self.out_channels, layers=3)
        self.skip = nn.Sequential(
            nn.Conv3d(in_channels, self.out_channels, 3, padding=1), nn.GELU(),
            nn.Conv3d(self.out_channels, self.out_channels, 3, padding=1),
        ) if image_skip else None

    def forward(self, image_tokens: torch.Tensor, grid: tuple[int, int, int], image_pe: torch.Tensor,
                tokens: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """image_tokens (B, N, D), image_pe (N, D), tokens (B, K, T, D), image (B, C, X, Y, Z) →
        hyper (B*K, C_up), features (B, K, C_up, X, Y, Z), output tokens (B*K, 1+T, D) (mask token first)."""
        b, k, t, d = tokens.shape
        q = torch.cat([self.mask_token.expand(b * k, 1, d), tokens.reshape(b * k, t, d)], dim=1)
        q_pe = q
        src = image_tokens.repeat_interleave(k, dim=0)  # (B*K, N, D)
        k_pe = image_pe.unsqueeze(0).expand_as(src)
        for layer in self.layers:
            q, src = layer(q, src, q_pe, k_pe)
        q = self.final_norm(q + self.final_attn(q + q_pe, src + k_pe, src, need_weights=False)[0])
        feats = self.upscale(src.transpose(1, 2).reshape(b * k, d, *grid))  # (B*K, C_up, X, Y, Z)
        feats = feats.view(b, k, *feats.shape[1:])
        if self.skip is not None:
            feats = feats + self.skip(image).unsqueeze(1)
        return self.hyper(q[:, 0]), feats, q

    @staticmethod
    def masks(hyper: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """hyper (B*K, C), features (B, K, C, X, Y, Z) → mask logits (B, K, X, Y, Z)."""
        b, k = feats.shape[:2]
        return torch.einsum("bkc,bkcxyz->bkxyz", hyper.view(b, k, -1), feats)
