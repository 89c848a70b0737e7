"""Universal-Model fusion: concatenate [image embedding repeated per class, text feature] → (B, K, 2D)."""

from __future__ import annotations

import torch
from torch import nn

from medvlseg.models.registry import FUSIONS


class ConcatFusion(nn.Module):
    """[H_v(b), H_t(k)] for every (sample, class): 2D features (512 at D = 256)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.out_dim = 2 * dim

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Text (K, D) and image (B, D) → (B, K, 2D)."""
        b, k = image.shape[0], text.shape[0]
        h_v = image.unsqueeze(1).expand(b, k, -1)  # (B, K, D)
        h_t = text.unsqueeze(0).expand(b, k, -1)  # (B, K, D)
        return torch.cat([h_v, h_t], dim=-1)  # (B, K, 2D)


@FUSIONS.register("concat")
def build_concat(dim: int, heads: int) -> nn.Module:
    """Registered builder for concatenation fusion (heads unused)."""
    return ConcatFusion(dim)
