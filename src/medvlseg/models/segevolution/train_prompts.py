"""Box and point prompts drawn from training labels (SegVol trains text and spatial prompts together), so that
`predict --box / --point` meets trained prompt embeddings.

Per sample and class k (5-class label value k + 1): box = the class's voxel extent (voxel centres, unit
coordinates) jittered by up to `jitter` of its size, or the whole window when the class is absent; points = one
positive voxel of the class (padding when absent) and one negative voxel outside it. Draws are a pure function of
the generator, so a resumed run draws the same prompts. Hand-written: no library samples SegVol-style prompts.
"""

from __future__ import annotations

import torch


def _unit(idx: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """Voxel indices (..., 3) → unit coordinates (voxel centres)."""
    return (idx.float() + 0.5) / shape


def draw_prompts(label: torch.Tensor, num_classes: int, gen: torch.Generator, jitter: float = 0.1,
                 ) -> dict[str, torch.Tensor]:
    """label (B, X, Y, Z) int (0 background, k+1 class k) → boxes (B, K, 2, 3), points (B, K, 2, 3),
    point_labels (B, K, 2) (1 positive, 0 negative, -1 padding), on the label's device."""
    b = label.shape[0]
    shape = torch.tensor(label.shape[1:], dtype=torch.float32)
    boxes = torch.tensor([[0.0] * 3, [1.0] * 3]).repeat(b, num_classes, 1, 1)
    points = torch.full((b, num_classes, 2, 3), 0.5)
    labels = torch.full((b, num_classes, 2), -1, dtype=torch.long)
    flat = label.detach().cpu().reshape(b, -1)
    for i in range(b):
        for k in range(num_classes):
            inside = flat[i] == k + 1
            pos = inside.nonzero().squeeze(1)
            neg = (~inside).nonzero().squeeze(1)
            if pos.numel():
                coords = torch.stack(torch.unravel_index(pos, tuple(label.shape[1:])), dim=1)  # (N, 3)
                lo, hi = _unit(coords.min(0).values, shape), _unit(coords.max(0).values, shape)
                noise = (torch.rand(2, 3, generator=gen) * 2 - 1) * jitter * (hi - lo + 1 / shape)
                boxes[i, k] = torch.stack([lo, hi]) + noise
                pick = coords[torch.randint(len(coords), (1,), generator=gen)]
                points[i, k, 0], labels[i, k, 0] = _unit(pick[0], shape), 1
            if neg.numel():
                pick = neg[torch.randint(neg.numel(), (1,), generator=gen)]
                coords = torch.stack(torch.unravel_index(pick, tuple(label.shape[1:])), dim=1)
                points[i, k, 1], labels[i, k, 1] = _unit(coords[0], shape), 0
    device = label.device
    return {"boxes": boxes.to(device), "points": points.to(device), "point_labels": labels.to(device)}


def training_prompts(label: torch.Tensor, num_classes: int, seed: int, step: int, probability: float,
                     ) -> dict[str, torch.Tensor]:
    """With `probability` (per step): a box, points, or both (equally likely) drawn from `label`; else {}."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
    if probability <= 0 or float(torch.rand(1, generator=gen)) >= probability:
        return {}
    drawn = draw_prompts(label, num_classes, gen)
    kind = int(torch.randint(3, (1,), generator=gen))  # 0 box, 1 points, 2 both
    if kind == 0:
        drawn.pop("points"), drawn.pop("point_labels")
    elif kind == 1:
        drawn.pop("boxes")
    return drawn
