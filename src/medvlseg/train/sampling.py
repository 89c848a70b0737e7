"""Random training patches from the preprocessed cache: positive/negative centres, crop, MONAI augmentation.

Hand-written here: the centre choice and the crop, because they read straight from the memory-mapped cache
(MONAI's RandCropByPosNegLabeld needs the whole volume and all background indices in memory). Augmentation
is MONAI's. Every item is a pure function of (seed, rank, global index), so a run is reproducible whatever
the number of worker processes, and a resumed run draws exactly the patches the uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from medvlseg.data.cache import CachedCase, load_case
from medvlseg.data.label_scheme import FIVE, THREE
from medvlseg.data.labels import to_three_class
from medvlseg.train.config import AugmentConfig

MAX_POSITIVES = 200_000  # foreground voxel indices kept per case for centre sampling


def crop_patch(array: np.ndarray, start: Sequence[int], size: int, pad_value: float = 0.0) -> np.ndarray:
    """Copy `array[..., start:start+size]` over the last 3 axes, padding outside the volume (voxels)."""
    spatial = array.shape[-3:]
    src, dst = [], []
    for s, n in zip(start, spatial):
        lo, hi = max(s, 0), min(s + size, n)
        src.append(slice(lo, max(hi, lo)))
        dst.append(slice(lo - s, lo - s + max(hi - lo, 0)))
    out = np.full(array.shape[:-3] + (size,) * 3, pad_value, dtype=array.dtype)
    out[(...,) + tuple(dst)] = array[(...,) + tuple(src)]
    return out


def patch_start(centre: Sequence[int], shape: Sequence[int], size: int) -> list[int]:
    """Patch corner (voxels) around `centre`, shifted inside the volume where the volume is large enough."""
    start = []
    for c, n in zip(centre, shape):
        s = int(c) - size // 2
        s = min(max(s, 0), n - size) if n >= size else (n - size) // 2
        start.append(s)
    return start


def build_augment(cfg: AugmentConfig):  # type: ignore[no-untyped-def]
    """MONAI Compose on {"image": (C, p, p, p), "label": (1, p, p, p)}; never flips left–right (axis 0)."""
    from monai.transforms import (Compose, RandFlipd, RandRotate90d, RandScaleIntensityd,
                                  RandShiftIntensityd)

    keys = ["image", "label"]
    return Compose([
        RandFlipd(keys, prob=cfg.flip_prob, spatial_axis=1),
        RandFlipd(keys, prob=cfg.flip_prob, spatial_axis=2),
        RandRotate90d(keys, prob=cfg.rotate90_prob, max_k=3, spatial_axes=(1, 2)),
        RandScaleIntensityd("image", factors=cfg.scale_range, prob=cfg.scale_prob),
        RandShiftIntensityd("image", offsets=cfg.shift_range, prob=cfg.shift_prob),
    ])


class EpochSampler(Sampler[int]):
    """Yields global item indices `epoch * length + i` (the sampler runs in the main process)."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose indices the next iteration yields."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.epoch * self.length, (self.epoch + 1) * self.length))

    def __len__(self) -> int:
        return self.length


def case_modality(case: CachedCase) -> str:
    """The case's modality from its manifest meta (`meta.modality`, e.g. "mri" for MRI-like phantoms), else "ct"."""
    case_meta = (case.meta or {}).get("case_meta") or {}
    return str(case_meta.get("modality", "ct")).lower()


class PatchDataset(Dataset):
    """Item g → {"image": (C, p, p, p) float32, "label": (p, p, p) int64, "annotated": bool[K], "modality": str}."""

    def __init__(self, cache_dir: str | Path, names: Sequence[str], patch_size: int, pos_ratio: float,
                 augment: AugmentConfig | None, label_mode: str = FIVE.label_mode, seed: int = 0, rank: int = 0) -> None:
        if not names:
            raise ValueError("no training cases")
        self.cache_dir = Path(cache_dir)
        self.names = list(names)
        self.patch_size = patch_size
        self.pos_ratio = pos_ratio
        self.augment_cfg = augment
        self.label_mode = label_mode
        self.seed = seed
        self.rank = rank
        self._cases: dict[str, tuple[CachedCase, np.ndarray]] = {}
        self._augment: Any = None

    def __len__(self) -> int:
        return 2**62  # indices come from EpochSampler

    def _case(self, name: str) -> tuple[CachedCase, np.ndarray]:
        """Cached case (memory-mapped) and up to MAX_POSITIVES flat indices of annotated vessel voxels."""
        if name not in self._cases:
            case = load_case(self.cache_dir, name)
            if case.label is None:
                raise ValueError(f"{self.cache_dir / name}: training case has no label")
            fg = np.flatnonzero(np.asarray(case.label).ravel() > 0)
            if fg.size > MAX_POSITIVES:
                fg = fg[np.random.default_rng(0).choice(fg.size, MAX_POSITIVES, replace=False)]
            self._cases[name] = (case, fg)
        return self._cases[name]

    def _centre(self, shape: tuple[int, ...], fg: np.ndarray, rng: np.random.Generator) -> tuple[int, ...]:
        """A foreground voxel with probability pos_ratio (if any), else a uniform voxel."""
        if fg.size and rng.random() < self.pos_ratio:
            return tuple(int(v) for v in np.unravel_index(fg[rng.integers(fg.size)], shape))
        return tuple(int(rng.integers(n)) for n in shape)

    def _target(self, label: np.ndarray, annotated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """5-class label + flags → training target and per-class annotated flags for the label mode."""
        if self.label_mode == THREE.label_mode:  # naive: the unannotated lung counts as background
            return to_three_class(label), np.ones(2, dtype=bool)
        return label, annotated.astype(bool)

    def patch_from(self, image: np.ndarray, label: np.ndarray, fg: np.ndarray, annotated: np.ndarray,
                   modality: str, rng: np.random.Generator) -> dict[str, Any]:
        """Crop (and augment) one patch of a case's channels (C, X, Y, Z) and 5-class label (X, Y, Z)."""
        start = patch_start(self._centre(label.shape, fg, rng), label.shape, self.patch_size)
        patch = crop_patch(image, start, self.patch_size).astype(np.float32, copy=False)
        target, flags = self._target(crop_patch(label, start, self.patch_size), annotated)
        item: dict[str, Any] = {"image": torch.from_numpy(patch), "label": torch.from_numpy(target[None].astype(np.int64))}
        if self.augment_cfg is not None:
            if self._augment is None:
                from monai.data import set_track_meta

                set_track_meta(False)
                self._augment = build_augment(self.augment_cfg)
            self._augment.set_random_state(seed=int(rng.integers(2**31 - 1)))
            item = self._augment(item)
        return {"image": torch.as_tensor(item["image"]).float().contiguous(),
                "label": torch.as_tensor(item["label"])[0].long().contiguous(),
                "annotated": torch.from_numpy(flags), "modality": modality}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.rank, int(index)])
        case, fg = self._case(self.names[int(rng.integers(len(self.names)))])
        return self.patch_from(case.image, case.label, fg, case.annotated, case_modality(case), rng)  # type: ignore[arg-type]
