"""Med-VLM's mask decoder (seed 003, equations 8-10).

    F1 = Dilated_Conv(F_fused_im)            (8)  log2(p) stages of (2x transposed conv halving the channels,
                                                  3x3 conv with dilation 2); (D, H/p, W/p) → (D/p, H, W)
    F2 = cross_attn(F_fused_im, F_fused_text) (9) bi-directional: image tokens attend to the text, then the
                                                  text tokens attend to the updated image (SAM's two-way step)
    Mask = MLP(F2) * F1                      (10) the text features (masked mean over tokens) → an MLP → one
                                                  weight per F1 channel; multiplied with F1 and summed over
                                                  channels (SAM's hypernetwork mask) → one logit per pixel.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def masked_mean(tokens: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
    """Average tokens (N, T, D) over non-padding positions (pad (N, T) True = padding) → (N, D)."""
    if pad is None:
        return tokens.mean(dim=1)
    keep = (~pad).unsqueeze(-1).to(tokens.dtype)
    return (tokens * keep).sum(dim=1) / keep.sum(dim=1).clamp_min(1.0)


class DilatedUpsampler(nn.Module):
    """(N, D, h, w) → (N, D / 2^s, h·2^s, w·2^s) with s = log2(patch) stages (equation 8)."""

    def __init__(self, dim: int, patch: int, dilation: int = 2) -> None:
        super().__init__()
        stages = int(math.log2(patch))
        layers: list[nn.Module] = []
        c = dim
        for _ in range(stages):
            layers += [nn.ConvTranspose2d(c, c // 2, kernel_size=2, stride=2), nn.GroupNorm(1, c // 2), nn.GELU(),
                       nn.Conv2d(c // 2, c // 2, kernel_size=3, padding=dilation, dilation=dilation), nn.GELU()]
            c //= 2
        self.net = nn.Sequential(*layers)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample by the patch size while reducing the channels."""
        return self.net(x)


class MaskDecoder(nn.Module):
    """(fused text (N, T, D), fused image (N, L, D), grid (h, w)) → mask logits (N, h·p, w·p)."""

    def __init__(self, dim: int, heads: int, patch: int) -> None:
        super().__init__()
        self.upsample = DilatedUpsampler(dim, patch)
        self.image_to_text = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.text_to_image = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_image = nn.LayerNorm(dim)
        self.norm_text = nn.LayerNorm(dim)
        c1 = self.upsample.out_channels
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, c1))

    def forward(self, text: torch.Tensor, image: torch.Tensor, grid: tuple[int, int],
                text_pad: torch.Tensor | None = None) -> torch.Tensor:
        """Equations 8-10; returns one logit map per sequence (N, H, W)."""
        n, _, d = image.shape
        f1 = self.upsample(image.transpose(1, 2).reshape(n, d, *grid))  # (N, C1, H, W)
        img = self.norm_image(image + self.image_to_text(image, text, text, key_padding_mask=text_pad,
                                                         need_weights=False)[0])
        f2 = self.norm_text(text + self.text_to_image(text, img, img, need_weights=False)[0])  # (N, T, D)
        weights = self.mlp(masked_mean(f2, text_pad))  # (N, C1)
        return torch.einsum("nc,nchw->nhw", weights, f1)
