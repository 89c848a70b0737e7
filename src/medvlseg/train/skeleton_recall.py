"""Skeleton Recall loss (Kirchhoff et al., ECCV 2024): soft recall of the tubed ground-truth skeleton per class.

The target skeleton of each (sample, class) is `skimage.morphology.skeletonize` of the label mask, "tubed" by a
3x3x3 cross dilation (scipy.ndimage) as in the paper, computed on the CPU from the integer patch labels. The loss
is 1 − Σ p·S / Σ S summed over the annotated samples of each class (a batch recall, like the batch Dice of
medvlseg.train.losses), averaged over classes with any skeleton voxel. Hand-written: no maintained library ships
it for PyTorch (the authors' code is an nnU-Net fork).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from skimage.morphology import skeletonize

SMOOTH = 1e-5
TUBE = ndimage.generate_binary_structure(3, 1)  # 6-connected cross


def tubed_skeletons(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Integer labels (B, X, Y, Z) with values 0..K → float (B, K, X, Y, Z) tubed skeletons of each class."""
    lab = label.detach().cpu().numpy()
    out = np.zeros((lab.shape[0], num_classes, *lab.shape[1:]), dtype=np.float32)
    for b in range(lab.shape[0]):
        for k in range(num_classes):
            mask = lab[b] == k + 1
            if mask.any():
                out[b, k] = ndimage.binary_dilation(skeletonize(mask).astype(bool), TUBE) & mask
    return torch.from_numpy(out).to(label.device)


def skeleton_recall_loss(logits: torch.Tensor, label: torch.Tensor, annotated: torch.Tensor,
                         activation: str) -> torch.Tensor:
    """1 − soft skeleton recall; logits (B, K[+1], ...), label (B, ...), annotated (B, K) bool → scalar."""
    if activation == "softmax":
        probs = torch.softmax(logits.float(), dim=1)[:, 1:]
    elif activation == "sigmoid":
        probs = torch.sigmoid(logits.float())
    else:
        raise ValueError(f"unknown activation {activation!r}")
    skel = tubed_skeletons(label, probs.shape[1])
    dims = tuple(range(2, probs.ndim))
    ann = annotated.to(device=probs.device, dtype=torch.bool)
    zero = torch.zeros((), dtype=probs.dtype, device=probs.device)
    hit = torch.where(ann, (probs * skel).sum(dims), zero).sum(0)  # (K,)
    size = torch.where(ann, skel.sum(dims), zero).sum(0)  # (K,)
    has = size > 0
    if not bool(has.any()):
        return probs.sum() * 0.0
    return (1.0 - (hit + SMOOTH) / (size + SMOOTH))[has].mean()
