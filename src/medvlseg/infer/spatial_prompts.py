"""Box and point prompts for `medvlseg predict` (segevolution / segvol runs): parsing, file-voxel → unit
coordinates, and SegVol's zoom-out–zoom-in inference.

Coordinates on the command line are voxel indices (x, y, z) of the INPUT FILE's own voxel grid (the array order
stored in the file, as nibabel/ITK-SNAP index it), whatever its orientation. They are mapped through the file's
affine to the canonical grid and then to unit coordinates u = (v + 0.5) / n, which the working-grid resampling
and the zoom-out resize leave unchanged (all resizes are align_corners=False).
Zoom-out: the whole working volume resized to one model window, prompts in whole-volume unit coordinates.
Zoom-in (with a box): the box plus a margin cropped at working resolution, resized to one window, prompts in crop
units; its logits replace the zoom-out logits inside the crop. Hand-written: no library implements this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from medvlseg.errors import InputError


@dataclass
class SpatialPrompts:
    """A box (two corners) and/or points with labels (1 positive, 0 negative), in unit coordinates (float32)."""

    box: np.ndarray | None  # (2, 3)
    points: np.ndarray | None  # (P, 3)
    labels: np.ndarray | None  # (P,) int


def parse_box(text: str, where: str = "--box") -> tuple[float, ...]:
    """"x0,y0,z0,x1,y1,z1" (voxels) → 6 floats; InputError otherwise."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 6:
        raise InputError(where, f"--box must be x0,y0,z0,x1,y1,z1 (6 voxel coordinates), got {text!r}")
    return values


def parse_point(text: str, where: str = "--point") -> tuple[float, float, float, int]:
    """"x,y,z,label" (voxels; label 1 positive or 0 negative) → (x, y, z, label); InputError otherwise."""
    parts = text.split(",")
    try:
        x, y, z, label = float(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])
        if len(parts) != 4 or label not in (0, 1):
            raise ValueError
    except (ValueError, IndexError):
        raise InputError(where, f"--point must be x,y,z,label with label 1 (positive) or 0 (negative), "
                                f"got {text!r}") from None
    return x, y, z, label


def to_unit(coords: np.ndarray, volume: Any, where: str) -> np.ndarray:
    """File voxel coords (N, 3) → unit coords (N, 3) of the volume's canonical grid; InputError outside the file."""
    shape = np.asarray(volume.source.shape[:3], dtype=np.float64)
    if (coords < 0).any() or (coords > shape - 1).any():
        raise InputError(where, f"prompt voxel coordinates {coords.tolist()} lie outside the image grid "
                                f"{tuple(int(s) for s in shape)}")
    homog = np.c_[coords, np.ones(len(coords))]
    canonical = (np.linalg.inv(volume.affine) @ np.asarray(volume.source.affine) @ homog.T).T[:, :3]
    return ((canonical + 0.5) / np.asarray(volume.array.shape, dtype=np.float64)).astype(np.float32)


def spatial_prompts(volume: Any, box: Sequence[float] | None, points: Sequence[Sequence[float]],
                    where: str) -> SpatialPrompts:
    """Command-line box/points in file voxels → SpatialPrompts in unit coordinates."""
    unit_box = to_unit(np.asarray(box, dtype=np.float64).reshape(2, 3), volume, where) if box else None
    unit_pts = labels = None
    if points:
        arr = np.asarray(points, dtype=np.float64)
        unit_pts, labels = to_unit(arr[:, :3], volume, where), arr[:, 3].astype(np.int64)
    return SpatialPrompts(unit_box, unit_pts, labels)


def _run(model: torch.nn.Module, image: torch.Tensor, roi: Sequence[int], prompts: SpatialPrompts,
         text: torch.Tensor | None, offset: np.ndarray, extent: np.ndarray, device: torch.device) -> torch.Tensor:
    """Logits (K, *image.shape[1:]) of `image` (C, ...) resized to `roi`, prompts re-expressed in its units."""
    size = tuple(int(s) for s in image.shape[1:])
    x = F.interpolate(image[None].to(device), size=tuple(roi), mode="trilinear", align_corners=False)
    kwargs: dict = {}
    if prompts.box is not None:
        kwargs["boxes"] = torch.from_numpy((prompts.box - offset) / extent)[None].float().to(device)
    if prompts.points is not None:
        kwargs["points"] = torch.from_numpy((prompts.points - offset) / extent)[None].float().to(device)
        kwargs["point_labels"] = torch.from_numpy(prompts.labels)[None].to(device)
    logits = model(x, None if text is None else text.to(device), **kwargs)
    return F.interpolate(logits, size=size, mode="trilinear", align_corners=False)[0].cpu()


@torch.inference_mode()
def prompted_probabilities(model: torch.nn.Module, image: torch.Tensor, roi: Sequence[int],
                           prompts: SpatialPrompts, text_embeddings: torch.Tensor | None = None,
                           device: str | torch.device = "cpu", margin: float = 0.25) -> torch.Tensor:
    """Working-grid image (C, X, Y, Z) + prompts → sigmoid probabilities (K, X, Y, Z) by zoom-out–zoom-in."""
    if not getattr(model, "accepts_spatial_prompts", False):
        raise ValueError("box/point prompts need a segevolution or segvol model")
    device = torch.device(device)
    shape = np.asarray(image.shape[1:], dtype=np.float64)
    logits = _run(model, image, roi, prompts, text_embeddings, np.zeros(3), np.ones(3), device)
    if prompts.box is not None:  # zoom in on the box (+ margin) at working resolution
        lo_u, hi_u = prompts.box.min(axis=0), prompts.box.max(axis=0)
        pad = np.maximum(margin * (hi_u - lo_u), 2.0 / shape)
        lo = np.clip(np.floor((lo_u - pad) * shape), 0, shape - 1).astype(int)
        hi = np.clip(np.ceil((hi_u + pad) * shape), lo + 1, shape).astype(int)
        crop = image[:, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        local = _run(model, crop, roi, prompts, text_embeddings, lo / shape, (hi - lo) / shape, device)
        logits[:, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = local
    return torch.sigmoid(logits).float()
