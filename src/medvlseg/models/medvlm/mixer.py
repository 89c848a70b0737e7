"""Med-VLM's query-based feature mixer (seed 003, equations 4-7), stacked `depth` times with residuals.

One block, text tokens t (N, T, D) and image tokens v (N, L, D):
    t1 = t + attn(t, t)                       (4)  text self-attention
    t2 = t1 + cross_attn(q=t1, kv=v)          (5)  text as query on the image
    tf = t2 + MLP(t2)                         (6)  fused text
    vf = v + cross_attn(q=v, kv=tf)           (7)  fused text written into the image tokens → fused image
Equation (5) in the paper adds F_im to a text-shaped result; F_text,1 is the only residual with matching shape,
so it is used. Each residual is followed by a LayerNorm (post-norm, as SAM's two-way transformer). Built from
`nn.MultiheadAttention`; only the wiring is written here.
"""

from __future__ import annotations

import torch
from torch import nn


class MixerBlock(nn.Module):
    """One feature-mixer block (equations 4-7); D = feature length, `heads` attention heads."""

    def __init__(self, dim: int, heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.text_to_image = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))
        self.image_to_text = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(4)])

    def forward(self, text: torch.Tensor, image: torch.Tensor,
                text_pad: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """text (N, T, D), image (N, L, D), text_pad (N, T) True at padding → (fused text, fused image)."""
        t1 = self.norms[0](text + self.self_attn(text, text, text, key_padding_mask=text_pad,
                                                 need_weights=False)[0])
        t2 = self.norms[1](t1 + self.text_to_image(t1, image, image, need_weights=False)[0])
        fused_text = self.norms[2](t2 + self.mlp(t2))
        fused_image = self.norms[3](image + self.image_to_text(image, fused_text, fused_text,
                                                               key_padding_mask=text_pad, need_weights=False)[0])
        return fused_text, fused_image


class FeatureMixer(nn.Module):
    """`depth` MixerBlocks in sequence: (text (N, T, D), image (N, L, D)) → (fused text, fused image)."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, depth: int = 4) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([MixerBlock(dim, heads, mlp_dim) for _ in range(depth)])

    def forward(self, text: torch.Tensor, image: torch.Tensor,
                text_pad: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply every block; the shapes of text and image are kept."""
        for block in self.blocks:
            text, image = block(text, image, text_pad)
        return text, image
