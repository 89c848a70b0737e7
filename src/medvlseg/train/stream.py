"""Training on engine cases generated on the fly (`--data phantom:PRESET`, or `data: phantom:PRESET` in a config).

Cases come from `phantom.synth` in background worker processes (`stream.workers`, spawn context), each preprocessed
exactly like a cache case (window + tubularity on the run's grid; labels 5-class from the engine's own sides).
Patch g draws its case uniformly from the rolling window of the `stream.pool` newest cases, the newest being
case ⌊g / patches_per_case⌋: every case has its own seed (never the same case twice), serves ~patches_per_case
patches, and every patch is a pure function of (seed, rank, g) — so a resumed run draws what the uninterrupted one
would, whatever the number of workers. Workers generate ahead (`stream.lookahead` cases); time the trainer spends
waiting for them is the data wait it logs per step. Validation uses a fixed seeded set of the same engine, written
once into RUN/cache in the cache layout (data/cache.py), so validation and the run folder work as for a manifest.
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from medvlseg.data.preprocess import PreprocessConfig

log = logging.getLogger(__name__)

PREFIX = "phantom:"


@dataclass
class StreamConfig:
    """Streaming settings (used when the run's data is `phantom:PRESET`)."""

    workers: int = 1  # generator processes (0: generate in the training process, blocking)
    pool: int = 4  # cases a patch may come from (the rolling window)
    patches_per_case: int = 16  # patches drawn per generated case, on average
    lookahead: int = 2  # cases generated ahead of need
    n_val: int = 2  # fixed validation cases (seeded; fully labelled)
    engine: dict[str, Any] = field(default_factory=dict)  # SynthConfig overrides, e.g. {contrast: arterial}

    def __post_init__(self) -> None:
        """Reject values no stream can use (ValueError → ConfigError in from_dict)."""
        if self.workers < 0 or self.pool < 1 or self.patches_per_case < 1 or self.lookahead < 0 or self.n_val < 0:
            raise ValueError("stream: workers, lookahead, n_val ≥ 0 and pool, patches_per_case ≥ 1")


def is_stream(data: str | Path | None) -> bool:
    """True for a `phantom:PRESET` data spec."""
    return isinstance(data, str) and data.startswith(PREFIX)


def engine_config(spec: str, stream: StreamConfig):  # type: ignore[no-untyped-def]
    """The SynthConfig of a `phantom:PRESET` spec with the stream's engine overrides."""
    from medvlseg.data.phantom.synth_presets import get_synth_preset

    name = spec[len(PREFIX):]
    overrides = dict(stream.engine)
    for key in ("fov", "spacing_xy", "spacing_z", "scale", "thickness", "fwhm_xy", "orientations"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    return get_synth_preset(name, **overrides)


def case_seed(seed: int, rank: int, index: int) -> int:
    """Engine seed of stream case `index` (distinct from the validation seeds and across ranks)."""
    return int(np.random.SeedSequence([seed, rank, index, 1515]).generate_state(1)[0])


@dataclass
class StreamCase:
    """One preprocessed engine case: channels (C, X, Y, Z) float32, 5-class label and lung map on the run's grid."""

    image: np.ndarray
    label: np.ndarray
    lung: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray
    meta: dict


def make_training_case(config: Any, seed: int, preprocess: PreprocessConfig) -> StreamCase:
    """One engine case preprocessed like a cache case: window + tubularity on the run's grid; labels and lung map
    from the engine itself (its own lung sides, so one-lung crops and random-contrast cases need no lung split)."""
    from medvlseg.data.phantom.synth import synth_case
    from medvlseg.data.preprocess import preprocess_image
    from medvlseg.data.resample import resize
    from medvlseg.io.image import Volume

    case = synth_case(config, seed)
    volume = Volume.from_canonical(case.image, case.affine)
    prep = preprocess_image(volume, replace(preprocess, lung_split=False), where=f"phantom seed {seed}")
    shape = prep.image.shape[1:]
    meta = {k: case.meta[k] for k in ("seed", "phase", "fov", "anatomy_scale", "vein_ostia")}
    return StreamCase(image=prep.image.astype(np.float32, copy=False),
                      label=resize(case.label5(), shape, "nearest").astype(np.uint8),
                      lung=resize(case.lung, shape, "nearest").astype(np.uint8),
                      spacing=tuple(float(v) for v in prep.spacing), affine=np.asarray(prep.affine), meta=meta)


def _init_worker() -> None:
    """Generator processes use one thread each (the trainer owns the rest of the CPU)."""
    torch.set_num_threads(1)


class StreamDataset(Dataset):
    """Item g → a patch dict like `PatchDataset` (image, label, annotated, modality) from the rolling case window."""

    def __init__(self, engine: Any, stream: StreamConfig, preprocess: PreprocessConfig, patch_size: int,
                 pos_ratio: float, augment: Any, label_mode: str = "5class", seed: int = 0, rank: int = 0) -> None:
        from medvlseg.train.sampling import PatchDataset

        self.engine, self.stream, self.preprocess = engine, stream, preprocess
        self.seed, self.rank = seed, rank
        # reuse PatchDataset's centre choice, crop, target and augmentation on in-memory cases
        self._patches = PatchDataset("<stream>", ["stream"], patch_size, pos_ratio, augment, label_mode, seed, rank)
        self._cases: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # index → image, label, fg
        self._futures: dict[int, Future] = {}
        self._executor: ProcessPoolExecutor | None = None

    def __len__(self) -> int:
        return 2**62  # indices come from EpochSampler

    def _submit(self, index: int) -> None:
        """Start generating case `index` in a worker (no-op when it is known or workers = 0)."""
        if self.stream.workers == 0 or index in self._cases or index in self._futures:
            return
        if self._executor is None:
            ctx = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.stream.workers, mp_context=ctx, initializer=_init_worker)
        self._futures[index] = self._executor.submit(make_training_case, self.engine,
                                                     case_seed(self.seed, self.rank, index), self.preprocess)

    def _case(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(channels, 5-class label, flat foreground indices) of case `index`, waiting for it if needed."""
        if index not in self._cases:
            if index in self._futures:
                case = self._futures.pop(index).result()
            else:
                case = make_training_case(self.engine, case_seed(self.seed, self.rank, index), self.preprocess)
            self._cases[index] = (case.image, case.label, np.flatnonzero(case.label.ravel() > 0))
        return self._cases[index]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = int(index)
        rng = np.random.default_rng([self.seed, self.rank, g, 15])
        newest = g // self.stream.patches_per_case
        oldest = max(0, newest - self.stream.pool + 1)
        for old in [c for c in self._cases if c < oldest]:
            del self._cases[old]
        for ahead in range(newest, newest + self.stream.lookahead + 1):
            self._submit(ahead)
        image, label, fg = self._case(int(rng.integers(oldest, newest + 1)))
        return self._patches.patch_from(image, label, fg, np.ones(4, dtype=bool), "ct", rng)

    def close(self) -> None:
        """Stop the generator processes."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _save_npy(path: Path, array: np.ndarray) -> dict[str, Any]:
    """Write one cache array atomically; its record (file, shape, dtype, bytes, sha256) for meta.json."""
    from medvlseg.utils.atomic import atomic_path
    from medvlseg.utils.tensor_files import sha256_file

    with atomic_path(path) as tmp:
        np.save(tmp, np.ascontiguousarray(array))
    return {"file": path.name, "shape": list(array.shape), "dtype": str(array.dtype),
            "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def write_validation_cache(cache: Path, engine: Any, n_val: int, seed: int, preprocess: PreprocessConfig) -> None:
    """The stream's fixed validation cases (seeded, apart from the training seeds) as a cache (data/cache.py layout)."""
    from types import SimpleNamespace

    from medvlseg.data.cache import write_index
    from medvlseg.utils.atomic import write_json

    names = []
    for i in range(n_val):
        name = f"val_{i:03d}"
        case_seed_i = int(np.random.SeedSequence([seed, 2020, i]).generate_state(1)[0])
        fingerprint = f"stream:{case_seed_i}"
        meta_path = cache / name / "meta.json"
        if not (meta_path.is_file() and fingerprint in meta_path.read_text(encoding="utf-8")):
            case = make_training_case(engine, case_seed_i, preprocess)
            arrays = {key: _save_npy(cache / name / f"{key}.npy", getattr(case, key)) for key in ("image", "label", "lung")}
            write_json(meta_path, {"case": name, "split": "validation", "fingerprint": fingerprint, "annotated": "both",
                                   "annotated_flags": [True] * 4, "spacing": list(case.spacing),
                                   "affine": case.affine.tolist(), "arrays": arrays, "case_meta": case.meta})
        names.append(SimpleNamespace(name=name, split="validation", annotated="both"))
    write_index(cache, preprocess, names, {})  # type: ignore[arg-type]


def stream_cache(spec: str, stream: StreamConfig, preprocess: PreprocessConfig, run_dir: Path, seed: int,
                 build: bool) -> tuple[Path, list[str]]:
    """RUN/cache holding the stream's validation cases (written on the main rank), and their names."""
    from medvlseg.data.cache import list_cases

    cache = run_dir / "cache"
    if build:
        cache.mkdir(parents=True, exist_ok=True)
        write_validation_cache(cache, engine_config(spec, stream), stream.n_val, seed, preprocess)
    return cache, list_cases(cache, "validation")
