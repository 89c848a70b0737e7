"""MONAI transforms and the inference loop of the medvlseg bundle (needs only monai, torch, numpy, nibabel).

`medvlseg export --format monai-bundle` copies this file to BUNDLE/scripts/transforms.py, with the tubularity import
below pointed at BUNDLE/scripts/tubularity.py (a copy of medvlseg.data.tubularity), so the bundle runs without
medvlseg installed.

`Tubularityd` appends medvlseg's Hessian vesselness channel (scripts/tubularity.py, copied from
medvlseg.data.tubularity at export) to the windowed CT; `Labelsd` turns the network's probabilities into one label
map (sigmoid: channels merged by group with max, then the most probable group above the threshold; softmax:
argmax). `run` predicts every item of a dataset with MONAI's inferer and post-processing (no pytorch-ignite needed).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import MapTransform

from medvlseg.data.tubularity import tubularity  # bundle: from .tubularity import tubularity

log = logging.getLogger(__name__)


class Tubularityd(MapTransform):
    """Append the vesselness (in [0, 1]) of channel 0 of a (C, X, Y, Z) MetaTensor as a new channel."""

    def __init__(self, keys: Sequence[Hashable], sigmas_mm: Sequence[float], gamma: float, block_size: int,
                 min_vox: float | None) -> None:
        super().__init__(keys)
        self.sigmas_mm, self.gamma, self.block_size, self.min_vox = tuple(sigmas_mm), gamma, block_size, min_vox

    def __call__(self, data: Mapping) -> dict:
        """Add the channel to each key's image (voxel size from the MetaTensor's affine, mm)."""
        d = dict(data)
        for key in self.key_iterator(d):
            img = d[key]
            spacing = [float(s) for s in np.linalg.norm(np.asarray(img.affine)[:3, :3], axis=0)]
            tub = tubularity(img[0].detach().cpu().numpy(), spacing, self.sigmas_mm, self.block_size,
                             gamma=self.gamma, min_vox=self.min_vox)
            d[key] = torch.cat([img, torch.as_tensor(tub, dtype=img.dtype)[None]])
        return d


class Labelsd(MapTransform):
    """Probabilities (K, X, Y, Z) → uint8 label map (1, X, Y, Z): label g+1 for group g of channels."""

    def __init__(self, keys: Sequence[Hashable], activation: str, groups: Sequence[Sequence[int]],
                 threshold: float = 0.5) -> None:
        super().__init__(keys)
        self.activation, self.groups, self.threshold = activation, [list(g) for g in groups], threshold

    def __call__(self, data: Mapping) -> dict:
        """Label each key's probabilities, keeping its metadata."""
        d = dict(data)
        for key in self.key_iterator(d):
            probs = d[key]
            if self.activation == "softmax":  # channel 0 = background; groups index foreground channels
                fg = probs[1:]
                merged = torch.stack([fg[g].sum(0) for g in self.groups])
                labels = torch.where(probs[0] >= merged.max(0).values, 0, merged.argmax(0) + 1)
            else:
                merged = torch.stack([probs[g].max(0).values for g in self.groups])
                peak, best = merged.max(0)
                labels = torch.where(peak >= self.threshold, best + 1, 0)
            out = labels[None].to(torch.uint8)
            d[key] = MetaTensor(out, meta=probs.meta, applied_operations=probs.applied_operations) \
                if isinstance(probs, MetaTensor) else out
        return d


def run(dataset: Sequence[dict], network: torch.nn.Module, inferer: object, postprocessing: object,
        device: torch.device) -> int:
    """Predict each item (key "image"), post-process (which saves), return the number of cases done."""
    network.eval()
    for i in range(len(dataset)):
        item = dataset[i]
        with torch.no_grad():
            logits = inferer(item["image"][None].to(device), network)[0].cpu()  # type: ignore[operator]
        item["pred"] = MetaTensor(logits, meta=item["image"].meta)
        postprocessing(item)  # type: ignore[operator]
        log.info("predicted %s", item["image"].meta.get("filename_or_obj", i))
    return len(dataset)
