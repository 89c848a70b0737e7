"""Validation during training: sliding-window inference on cached validation cases, Dice per class."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from medvlseg.data.cache import load_case
from medvlseg.data.label_scheme import THREE
from medvlseg.data.labels import to_three_class
from medvlseg.eval.metrics import dice
from medvlseg.models.sliding import sliding_probabilities
from medvlseg.train.sampling import case_modality


def class_masks(probs: np.ndarray, activation: str, threshold: float = 0.5) -> np.ndarray:
    """Probabilities (K[+1], X, Y, Z) → boolean masks of the K foreground classes (K, X, Y, Z)."""
    if activation == "softmax":
        labels = probs.argmax(0)
        return np.stack([labels == k + 1 for k in range(probs.shape[0] - 1)])
    return probs >= threshold


@torch.no_grad()
def validate(model: torch.nn.Module, cache_dir: Path, names: Sequence[str], roi: Sequence[int], label_mode: str,
             overlap: float = 0.25, sw_batch_size: int = 2, device: torch.device | str = "cpu") -> np.ndarray:
    """Mean Dice per class over the validation cases (K,), NaN for a class no case annotates."""
    k = model.config.num_classes
    totals, counts = np.zeros(k), np.zeros(k)
    was_training, was_modality = model.training, getattr(model, "modality", None)
    model.eval()
    try:
        for name in names:
            case = load_case(cache_dir, name)
            if case.label is None:
                continue
            if getattr(model, "accepts_modality", False):
                model.modality = case_modality(case)  # segevolution: MoA gate and modality priors
            probs = sliding_probabilities(model, torch.from_numpy(np.array(case.image)), roi, model.activation,
                                          overlap=overlap, sw_batch_size=sw_batch_size, device=device).numpy()
            masks = class_masks(probs, model.activation)
            label = np.asarray(case.label)
            annotated = case.annotated
            if label_mode == THREE.label_mode:
                label, annotated = to_three_class(label), np.ones(2, dtype=bool)
            for c in range(k):
                if annotated[c]:
                    totals[c] += dice(masks[c], label == c + 1)
                    counts[c] += 1
    finally:
        model.train(was_training)
        if getattr(model, "accepts_modality", False):
            model.modality = was_modality
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
