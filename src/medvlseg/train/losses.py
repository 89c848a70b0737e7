"""Partial-label losses: ½(Dice + BCE) for sigmoid models and ½(Dice + marginal CE) for softmax models.

Hand-written because no library masks a loss per (sample, class): a half-labelled case is annotated for only
one lung, so its other-side classes are *unknown*, not background. Sigmoid: the BCE and Dice terms of an
unannotated (sample, class) pair are dropped (`torch.where`, so their gradient is exactly zero). Softmax (the
`unet` preset): the marginal loss of Shi et al. (MedIA 2021) — an unannotated class's probability is merged
into background for the cross-entropy, and Dice runs over annotated pairs only. Dice is a batch Dice per class
(intersections summed over the annotated samples of the batch), as nnU-Net uses for small structures.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SMOOTH = 1e-5


def one_hot_foreground(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Integer label (B, X, Y, Z) with values 0..K → float one-hot of the K foreground classes (B, K, X, Y, Z)."""
    onehot = F.one_hot(label.long(), num_classes + 1)  # (B, X, Y, Z, K+1)
    return onehot[..., 1:].movedim(-1, 1).float()


def masked_batch_dice_loss(probs: torch.Tensor, target: torch.Tensor, annotated: torch.Tensor) -> torch.Tensor:
    """1 − soft Dice per class over the annotated samples, averaged over classes with any annotated sample.

    probs, target: (B, K, X, Y, Z); annotated: (B, K) bool. Returns a scalar (0 when nothing is annotated).
    """
    dims = tuple(range(2, probs.ndim))
    zero = torch.zeros((), dtype=probs.dtype, device=probs.device)
    inter = torch.where(annotated, (probs * target).sum(dims), zero).sum(0)  # (K,)
    denom = torch.where(annotated, (probs + target).sum(dims), zero).sum(0)  # (K,)
    has = annotated.any(0)  # (K,)
    dice = (2 * inter + SMOOTH) / (denom + SMOOTH)
    if not bool(has.any()):
        return probs.sum() * 0.0
    return (1.0 - dice)[has].mean()


def partial_sigmoid_loss(logits: torch.Tensor, label: torch.Tensor, annotated: torch.Tensor) -> torch.Tensor:
    """½(Dice + BCE) over annotated (sample, class) pairs; logits (B, K, ...), label (B, ...), annotated (B, K)."""
    k = logits.shape[1]
    target = one_hot_foreground(label, k)
    annotated = annotated.to(device=logits.device, dtype=torch.bool)
    bce = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    bce = bce.flatten(2).mean(-1)  # (B, K)
    zero = torch.zeros((), dtype=bce.dtype, device=bce.device)
    n = annotated.sum().clamp(min=1)
    bce_term = torch.where(annotated, bce, zero).sum() / n
    dice_term = masked_batch_dice_loss(torch.sigmoid(logits.float()), target, annotated)
    return 0.5 * (dice_term + bce_term)


def partial_softmax_loss(logits: torch.Tensor, label: torch.Tensor, annotated: torch.Tensor) -> torch.Tensor:
    """½(Dice + marginal CE); logits (B, K+1, ...) with channel 0 background, label (B, ...), annotated (B, K)."""
    k = logits.shape[1] - 1
    annotated = annotated.to(device=logits.device, dtype=torch.bool)
    logp = torch.log_softmax(logits.float(), dim=1)  # (B, K+1, ...)
    merged = torch.cat([torch.ones_like(annotated[:, :1]), ~annotated], dim=1)  # (B, K+1): bg ∪ unannotated
    shape = merged.shape + (1,) * (logits.ndim - 2)
    neg_inf = torch.tensor(float("-inf"), device=logits.device)
    logp_bg = torch.logsumexp(torch.where(merged.view(shape), logp, neg_inf), dim=1)  # (B, ...)
    logp_target = logp.gather(1, label.long().unsqueeze(1)).squeeze(1)  # (B, ...)
    ce = -torch.where(label == 0, logp_bg, logp_target).mean()
    target = one_hot_foreground(label, k)
    dice_term = masked_batch_dice_loss(logp[:, 1:].exp(), target, annotated)
    return 0.5 * (dice_term + ce)


def partial_label_loss(logits: torch.Tensor, label: torch.Tensor, annotated: torch.Tensor,
                       activation: str) -> torch.Tensor:
    """The model's loss: `partial_sigmoid_loss` or `partial_softmax_loss` by activation."""
    if activation == "sigmoid":
        return partial_sigmoid_loss(logits, label, annotated)
    if activation == "softmax":
        return partial_softmax_loss(logits, label, annotated)
    raise ValueError(f"unknown activation {activation!r}")
