"""Sliding-window inference (MONAI, Gaussian blending) with optional mirroring test-time augmentation.

Hand-written here: only the loop over flip combinations (MONAI has no mirroring TTA for sliding windows that
averages *probabilities*; `monai.transforms` TTA works on dictionaries of random transforms).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import torch
from monai.inferers import sliding_window_inference

log = logging.getLogger(__name__)

MIRROR_AXES: tuple[int, ...] = (0, 1, 2)  # spatial axes flipped by TTA


def flip_combinations(axes: Sequence[int] = MIRROR_AXES) -> list[tuple[int, ...]]:
    """All subsets of the spatial axes (identity first): 8 combinations for 3 axes."""
    return [c for r in range(len(axes) + 1) for c in itertools.combinations(axes, r)]


def activate(logits: torch.Tensor, activation: str) -> torch.Tensor:
    """Logits (B, K[+1], X, Y, Z) → probabilities with the model's activation (sigmoid or softmax over dim 1)."""
    if activation == "softmax":
        return torch.softmax(logits, dim=1)
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    raise ValueError(f"unknown activation {activation!r} (expected 'sigmoid' or 'softmax')")


def window_size(patch: Sequence[int], divisor: int) -> tuple[int, int, int]:
    """Window edge per axis rounded up to a multiple of the network's size divisor (voxels)."""
    return tuple(int(-(-int(p) // divisor) * divisor) for p in patch)  # type: ignore[return-value]


@torch.inference_mode()
def sliding_probabilities(
    model: torch.nn.Module,
    image: torch.Tensor,
    roi_size: Sequence[int],
    activation: str,
    overlap: float = 0.5,
    sw_batch_size: int = 2,
    tta: bool = False,
    text_embeddings: torch.Tensor | None = None,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> torch.Tensor:
    """Image (C, X, Y, Z) on the working grid → probabilities (K', X, Y, Z) float32 on CPU, TTA-averaged."""
    if image.ndim != 4:
        raise ValueError(f"image must be (C, X, Y, Z), got {tuple(image.shape)}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    device = torch.device(device)
    batch = image.unsqueeze(0).to(device)  # (1, C, X, Y, Z)
    kwargs = {} if text_embeddings is None else {"text_embeddings": text_embeddings.to(device)}
    combos = flip_combinations() if tta else [()]
    total: torch.Tensor | None = None
    for combo in combos:
        dims = [d + 2 for d in combo]  # spatial axis → tensor dim of (B, C, X, Y, Z)
        x = torch.flip(batch, dims) if dims else batch
        logits = sliding_window_inference(
            x, tuple(roi_size), sw_batch_size, model, overlap=overlap, mode="gaussian",
            sw_device=device, device=torch.device("cpu"), progress=progress, **kwargs,
        )  # (1, K', X, Y, Z) on CPU
        probs = activate(logits, activation)
        if dims:
            probs = torch.flip(probs, dims)
        total = probs if total is None else total.add_(probs)
        log.debug("TTA flip %s done", combo)
    assert total is not None
    return total.div_(len(combos))[0].float()  # (K', X, Y, Z)
