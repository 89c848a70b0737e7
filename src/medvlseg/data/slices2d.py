"""2D axial-slice task from the synthetic-data engine (seed 003's setting: a 2D model, several organs).

Each engine case (`phantom.synth.synth_case`, preset `tiny`: heart-and-hila CTA field of view) becomes a stack of
axial slices (size x size pixels, centre-cropped or padded with air) with one binary mask per organ of `ORGANS`,
read from the engine's tissue map (`PhantomCase.tissue`):
heart = myocardium + four chambers, lungs = lung parenchyma and its lesions, aorta, airways = lumen + wall (minus
vessels), pulmonary artery = label 1, pulmonary vein = label 2. The masks do not overlap. A *case* (one volume) is
the unit of the paired tests: its score is the Dice over its whole slice stack.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.generator import PhantomCase
from medvlseg.errors import InputError

log = logging.getLogger(__name__)

ORGANS = ("heart", "lungs", "aorta", "airways", "pulmonary artery", "pulmonary vein")
VESSELS = ("pulmonary artery", "pulmonary vein")
HU_WINDOW = (-1000.0, 1000.0)  # HU mapped linearly to [0, 1] and clipped
AIR_HU = -1024.0


@dataclass
class SliceSet:
    """Slices (S, 1, H, W) float32 in [0, 1], masks (S, len(ORGANS), H, W) uint8 and the case of each slice."""

    images: np.ndarray
    masks: np.ndarray
    case_index: np.ndarray  # (S,) int: index into `cases`
    cases: list[dict] = field(default_factory=list)  # per case: id, seed, phase, spacing (mm), shape (voxels)

    def __len__(self) -> int:
        """Number of slices."""
        return int(self.images.shape[0])

    def case_slices(self, i: int) -> np.ndarray:
        """Slice indices of case `i`."""
        return np.flatnonzero(self.case_index == i)

    @property
    def case_ids(self) -> list[str]:
        """Case ids in order."""
        return [c["id"] for c in self.cases]

    def save(self, path: str | Path) -> None:
        """Write the set to one .npz (atomic)."""
        import json

        from medvlseg.utils.atomic import atomic_path

        with atomic_path(path, ".npz") as tmp:
            np.savez_compressed(tmp, images=self.images.astype(np.float16), masks=self.masks,
                                case_index=self.case_index, cases=np.array(json.dumps(self.cases)))

    @classmethod
    def load(cls, path: str | Path) -> SliceSet:
        """Read a set written by `save` (no pickles); InputError naming the file if it is not one."""
        import json
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(images=z["images"].astype(np.float32), masks=z["masks"], case_index=z["case_index"],
                           cases=json.loads(str(z["cases"])))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise InputError(path, f"not a slice set: {exc}") from exc


def organ_masks(case: PhantomCase) -> np.ndarray:
    """(len(ORGANS), X, Y, Z) uint8 masks of an engine case (needs its tissue map)."""
    if case.tissue is None:
        raise InputError(f"case seed {case.meta.get('seed')}", "no tissue map: build 2D tasks from engine cases")
    t = case.tissue
    vessel = case.label > 0
    out = np.stack([np.isin(t, (T.MYOCARDIUM, *T.CHAMBERS)), np.isin(t, T.LUNG_TISSUES), t == T.AORTA,
                    (case.airway > 0) & ~vessel, case.label == 1, case.label == 2])
    out[:4] &= ~vessel  # vessel labels win (they are painted last); the rest are disjoint tissue ids
    return out.astype(np.uint8)


def _fit(a: np.ndarray, size: int, fill: float) -> np.ndarray:
    """Centre-crop or pad the first two axes of `a` to size x size (pixels) with `fill`."""
    out = np.full((size, size, *a.shape[2:]), fill, dtype=a.dtype)
    src, dst = [], []
    for n in a.shape[:2]:
        if n >= size:
            o = (n - size) // 2
            src.append(slice(o, o + size)), dst.append(slice(0, size))
        else:
            o = (size - n) // 2
            src.append(slice(0, n)), dst.append(slice(o, o + n))
    out[dst[0], dst[1]] = a[src[0], src[1]]
    return out


def case_slices(case: PhantomCase, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Axial slices of a case: images (Z, 1, size, size) float32 in [0, 1], masks (Z, len(ORGANS), size, size)."""
    lo, hi = HU_WINDOW
    hu = _fit(case.image.astype(np.float32), size, AIR_HU)  # (size, size, Z)
    images = np.clip((hu - lo) / (hi - lo), 0.0, 1.0).transpose(2, 0, 1)[:, None]
    masks = _fit(organ_masks(case).transpose(1, 2, 3, 0), size, 0).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(images), np.ascontiguousarray(masks)


def build_slice_set(seeds: Sequence[int], phases: Sequence[str], size: int = 64, preset: str = "tiny",
                    max_voxels: int = 200_000, progress: bool = False) -> SliceSet:
    """Generate engine cases seeds[i] with contrast phases[i % len(phases)] and cut them into axial slices."""
    from tqdm import tqdm

    from medvlseg.data.phantom.synth import synth_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset

    config = get_synth_preset(preset, max_voxels=max_voxels)
    images, masks, index, cases = [], [], [], []
    for i, seed in enumerate(tqdm(list(seeds), desc="engine cases", disable=not progress)):
        phase = phases[i % len(phases)]
        case = synth_case(config, int(seed), contrast=phase)
        im, mk = case_slices(case, size)
        images.append(im), masks.append(mk), index.append(np.full(len(im), i))
        cases.append({"id": f"engine-{preset}-{seed}-{phase}", "seed": int(seed), "phase": phase,
                      "spacing_mm": [round(s, 3) for s in case.spacing], "shape": list(case.image.shape)})
    return SliceSet(np.concatenate(images), np.concatenate(masks), np.concatenate(index), cases)
