"""Prompt encoder (SegVol / SAM manner): text, box and point prompts → tokens, plus the image positional encoding.

Coordinates are unit coordinates of the model's input window: u = (voxel index + 0.5) / size per axis, so
(0, 0, 0) and (1, 1, 1) are the outer corners of the window; `voxel_to_unit` converts. A box is its two opposite
corners (min, max); a point is a position and a label (1 positive, 0 negative, -1 padding, ignored).
Hand-written: the random-Fourier positional encoding follows SAM's description (no library provides it in 3-D).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def voxel_to_unit(coords: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Voxel coordinates (..., 3) in a grid of `shape` (voxels) → unit coordinates (..., 3) in [0, 1]."""
    size = torch.as_tensor([float(s) for s in shape], dtype=torch.float32, device=coords.device)
    return (coords.float() + 0.5) / size


class FourierPE(nn.Module):
    """Random Fourier features: unit coords (..., 3) → (..., dim) = [sin, cos](2π (2u - 1) G), G ~ N(0, σ²)."""

    def __init__(self, dim: int, scale: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"positional-encoding dim must be even, got {dim}")
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("gaussian", scale * torch.randn(3, dim // 2, generator=gen))

    def forward(self, unit: torch.Tensor) -> torch.Tensor:
        """(..., 3) in [0, 1] → (..., dim)."""
        proj = 2 * math.pi * ((2 * unit.to(self.gaussian) - 1) @ self.gaussian)
        return torch.cat([proj.sin(), proj.cos()], dim=-1)

    def dense(self, grid: Sequence[int]) -> torch.Tensor:
        """Encoding of every token centre of a token grid (x, y, z) → (x*y*z, dim), x-major like flatten."""
        axes = [(torch.arange(n, device=self.gaussian.device, dtype=torch.float32) + 0.5) / n for n in grid]
        mesh = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
        return self(mesh)


def _per_class(t: torch.Tensor, b: int, k: int, tail: int, what: str) -> torch.Tensor:
    """(B, *tail_shape) or (B, K, *tail_shape) → (B, K, *tail_shape); ValueError on other shapes."""
    if t.ndim == tail + 1 and t.shape[0] == b:
        return t.unsqueeze(1).expand(b, k, *t.shape[1:])
    if t.ndim == tail + 2 and t.shape[:2] == (b, k):
        return t
    raise ValueError(f"{what} must be (B, ...) or (B, K, ...) with B={b}, K={k}; got {tuple(t.shape)}")


class PromptEncoder(nn.Module):
    """Text (K, E) [+ boxes (B[, K], 2, 3)] [+ points (B[, K], P, 3) with labels (B[, K], P)] → (B, K, T, dim)."""

    def __init__(self, text_dim: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.pe = FourierPE(dim)
        self.text_proj = nn.Sequential(nn.Linear(text_dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.corner_embed = nn.Embedding(2, dim)  # box min corner, max corner
        self.point_embed = nn.Embedding(2, dim)  # negative, positive
        self.pad_embed = nn.Embedding(1, dim)  # padding point (label -1)

    def text_tokens(self, text: torch.Tensor) -> torch.Tensor:
        """Frozen text embeddings (K, E) → text tokens (K, dim)."""
        return self.text_proj(text)

    def box_tokens(self, boxes: torch.Tensor) -> torch.Tensor:
        """Boxes (B, K, 2, 3) unit coords → (B, K, 2, dim); corners are sorted per axis (min, max)."""
        lo, hi = torch.minimum(boxes[..., 0, :], boxes[..., 1, :]), torch.maximum(boxes[..., 0, :], boxes[..., 1, :])
        return self.pe(torch.stack([lo, hi], dim=-2)) + self.corner_embed.weight

    def point_tokens(self, points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Points (B, K, P, 3) unit coords + labels (B, K, P) in {1, 0, -1} → (B, K, P, dim)."""
        labels = labels.to(points.device).long()
        if ((labels < -1) | (labels > 1)).any():
            raise ValueError("point labels must be 1 (positive), 0 (negative) or -1 (padding)")
        pad = (labels == -1).unsqueeze(-1)
        tokens = self.pe(points) + self.point_embed(labels.clamp(min=0))
        return torch.where(pad, self.pad_embed.weight.expand_as(tokens), tokens)

    def forward(self, text: torch.Tensor, batch: int, boxes: torch.Tensor | None = None,
                points: torch.Tensor | None = None, point_labels: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, int]:
        """Sparse prompt tokens (B, K, T, dim) (text first, then box corners, then points) and the count of
        spatial (box/point) tokens among them."""
        k = text.shape[0]
        parts = [self.text_tokens(text).unsqueeze(0).unsqueeze(2).expand(batch, k, 1, self.dim)]
        if boxes is not None:
            parts.append(self.box_tokens(_per_class(boxes.float(), batch, k, 2, "boxes")))
        if points is not None:
            pts = _per_class(points.float(), batch, k, 2, "points")
            if point_labels is None:
                labels = torch.ones(pts.shape[:3], dtype=torch.long, device=pts.device)
            else:
                labels = _per_class(point_labels, batch, k, 1, "point_labels")
                if labels.shape != pts.shape[:3]:
                    raise ValueError(f"point_labels {tuple(labels.shape)} do not match points {tuple(pts.shape)}")
            parts.append(self.point_tokens(pts, labels))
        tokens = torch.cat(parts, dim=2)
        return tokens, tokens.shape[2] - 1
