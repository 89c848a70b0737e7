"""Text adapters: frozen class embeddings (K, E) → adapted text features (K, D).

`lacaf` (seed 002): one adapter per class — down-projection Linear(E→r) → ReLU → up-projection Linear(r→E) →
BatchNorm over the K classes → self-attention across the K class embeddings (nn.MultiheadAttention) — added as a
residual to the frozen embedding, then projected to D (Linear, identity when E == D). Because the adapters are
per class, the number of prompts must equal the number of trained classes (K prompts, in class order).
BatchNorm1d treats the K class embeddings as its batch (with K = 1 in training it uses its running statistics).
`linear` (Universal Model): one shared Linear(E→D) + ReLU; works for any number of prompts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medvlseg.models.registry import TEXT_ADAPTERS


class LacafTextAdapter(nn.Module):
    """K per-class bottleneck adapters + BatchNorm + self-attention across classes, residual on the input."""

    def __init__(self, num_classes: int, text_dim: int, out_dim: int, rank: int = 64, heads: int = 4) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.adapters = nn.ModuleList(
            nn.Sequential(nn.Linear(text_dim, rank), nn.ReLU(inplace=True), nn.Linear(rank, text_dim))
            for _ in range(num_classes)
        )
        self.norm = nn.BatchNorm1d(text_dim)
        self.attn = nn.MultiheadAttention(text_dim, _divisor_heads(text_dim, heads), batch_first=True)
        self.proj: nn.Module = nn.Identity() if out_dim == text_dim else nn.Linear(text_dim, out_dim)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """Class embeddings (K, E) → adapted features (K, D)."""
        if text.shape[0] != self.num_classes:
            raise ValueError(
                f"this model has {self.num_classes} per-class text adapters; got {text.shape[0]} prompts "
                "(give exactly one prompt per trained class, in class order)"
            )
        h = torch.stack([adapter(t) for adapter, t in zip(self.adapters, text)])  # (K, E), K ≤ a handful
        if self.training and h.shape[0] == 1:  # batch statistics of one item are undefined
            n = self.norm
            h = F.batch_norm(h, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
        else:
            h = self.norm(h)  # (K, E): K classes act as the batch
        seq = h.unsqueeze(0)  # (1, K, E)
        attended, _ = self.attn(seq, seq, seq, need_weights=False)  # (1, K, E)
        return self.proj(text + attended.squeeze(0))  # (K, D)


class LinearTextAdapter(nn.Module):
    """Universal Model text branch: shared Linear(E→D) + ReLU."""

    def __init__(self, text_dim: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(text_dim, out_dim), nn.ReLU(inplace=True))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """(K, E) → (K, D)."""
        return self.net(text)


def _divisor_heads(dim: int, heads: int) -> int:
    """Largest head count ≤ `heads` that divides `dim`."""
    return max(h for h in range(1, max(1, heads) + 1) if dim % h == 0)


@TEXT_ADAPTERS.register("lacaf")
def build_lacaf_text_adapter(num_classes: int, text_dim: int, out_dim: int, rank: int, heads: int) -> nn.Module:
    """Registered builder for the LACAF per-class text adapter."""
    return LacafTextAdapter(num_classes, text_dim, out_dim, rank, heads)


@TEXT_ADAPTERS.register("linear")
def build_linear_text_adapter(num_classes: int, text_dim: int, out_dim: int, rank: int, heads: int) -> nn.Module:
    """Registered builder for the Universal-Model text projection (class count, rank and heads unused)."""
    return LinearTextAdapter(text_dim, out_dim)
