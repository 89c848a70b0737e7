"""The preprocessed cache: one folder per case of memory-mappable .npy arrays + meta.json, and cache.json.

Layout (docs/architecture.md): CACHE/<case>/{image.npy (C, X, Y, Z) float32, label.npy (X, Y, Z) uint8 5-class,
lung.npy (X, Y, Z) uint8, meta.json}; CACHE/cache.json holds the config, the case index (split, annotated
flags) and failures. A case is keyed by a fingerprint of the preprocessing config and its input files (path,
size, mtime); meta.json is written last and stores each array's size and SHA-256, so a re-run skips finished
cases, recomputes stale ones and rebuilds corrupted ones. Extension: cases without a label have no label.npy
(`CachedCase.label` is None) and are indexed with `"has_label": false`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medvlseg.data.preprocess import PreprocessConfig
from medvlseg.errors import InputError, MedvlsegError
from medvlseg.io.manifest import Case, Manifest
from medvlseg.utils.atomic import atomic_path, write_json
from medvlseg.utils.config import to_dict
from medvlseg.utils.tensor_files import sha256_file

log = logging.getLogger(__name__)

CACHE_VERSION = 1
ARRAYS = ("image", "label", "lung")


@dataclass
class CachedCase:
    """A cached case: memory-mapped arrays (image (C, X, Y, Z) float32, label/lung (X, Y, Z) uint8) + meta."""

    name: str
    image: np.ndarray
    label: np.ndarray | None
    lung: np.ndarray
    annotated: np.ndarray  # bool[4]: L artery, L vein, R artery, R vein
    spacing: tuple[float, float, float]  # mm
    split: str
    meta: dict = field(default_factory=dict)


def _file_key(path: Path | None) -> list[Any] | None:
    """(absolute path, size in bytes, mtime in ns) identifying an input file's version."""
    if path is None:
        return None
    st = Path(path).stat()
    return [str(Path(path).resolve()), st.st_size, st.st_mtime_ns]


def fingerprint(case: Case, config: PreprocessConfig) -> str:
    """SHA-256 of the cache version, preprocessing config, input files' identity and annotated side."""
    cfg = to_dict(config)
    cfg.pop("device", None)  # where it runs does not change the result
    key = {"version": CACHE_VERSION, "config": cfg, "image": _file_key(case.image), "label": _file_key(case.label),
           "annotated": case.annotated, "split": case.split}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()



def _save_array(path: Path, array: np.ndarray) -> dict[str, Any]:
    """Write one .npy atomically; return its size and checksum record."""
    with atomic_path(path) as tmp:
        np.save(tmp, np.ascontiguousarray(array))
    return {"file": path.name, "shape": list(array.shape), "dtype": str(array.dtype),
            "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def case_is_valid(case_dir: Path, fp: str, verify: bool = True) -> bool:
    """True if `case_dir` holds a finished case with fingerprint `fp` and intact arrays (size, checksum)."""
    try:
        meta = json.loads((case_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if meta.get("fingerprint") != fp:
        return False
    for rec in meta.get("arrays", {}).values():
        path = case_dir / rec["file"]
        if not path.is_file() or path.stat().st_size != rec["bytes"]:
            return False
        if verify and sha256_file(path) != rec["sha256"]:
            log.warning("%s: checksum mismatch, rebuilding", path)
            return False
    return "image" in meta.get("arrays", {})


def build_case(case: Case, config: PreprocessConfig, out_dir: Path, verify: bool = True) -> str:
    """Preprocess one case into `out_dir/<name>/` unless an intact, up-to-date copy exists; 'skipped'/'built'."""
    from medvlseg.data.preprocess import preprocess_case

    case_dir = Path(out_dir) / case.name
    for p in (case.image, case.label):
        if p is not None and not Path(p).is_file():
            raise InputError(p, "file not found")
    fp = fingerprint(case, config)
    if case_is_valid(case_dir, fp, verify):
        return "skipped"
    (case_dir / "meta.json").unlink(missing_ok=True)  # the case is invalid until its meta is rewritten
    prep = preprocess_case(case, config)
    arrays = {"image": _save_array(case_dir / "image.npy", prep.image.astype(np.float32, copy=False)),
              "lung": _save_array(case_dir / "lung.npy", prep.lung.astype(np.uint8, copy=False))}
    if prep.label is not None:
        arrays["label"] = _save_array(case_dir / "label.npy", prep.label.astype(np.uint8, copy=False))
    else:
        (case_dir / "label.npy").unlink(missing_ok=True)
    meta = {"case": case.name, "split": case.split, "fingerprint": fp, "annotated": case.annotated,
            "annotated_flags": prep.annotated.tolist(), "spacing": list(prep.spacing),
            "affine": np.asarray(prep.affine).tolist(), "channels": _channel_names(config),
            "source": {"image": str(case.image), "label": str(case.label) if case.label else None,
                       "shape": list(prep.source_shape), "spacing": list(prep.source_spacing),
                       "affine": np.asarray(prep.source_affine).tolist()},
            "arrays": arrays, "timings_s": prep.timings, "case_meta": case.meta}
    write_json(case_dir / "meta.json", meta)
    return "built"


def _channel_names(config: PreprocessConfig) -> list[str]:
    """Names of the image channels, in order."""
    return ["hu_window"] + (["tubularity"] if config.tubularity else [])


def write_index(out_dir: Path, config: PreprocessConfig, cases: list[Case], failures: dict[str, str],
                manifest: str | Path | None = None) -> None:
    """Write CACHE/cache.json: config, finished cases (split, annotated flags, label presence), failures."""
    index = []
    for case in cases:
        meta_path = Path(out_dir) / case.name / "meta.json"
        if case.name in failures or not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        index.append({"case": case.name, "split": case.split, "annotated": case.annotated,
                      "annotated_flags": meta["annotated_flags"], "has_label": "label" in meta["arrays"],
                      "shape": meta["arrays"]["image"]["shape"], "spacing": meta["spacing"],
                      "fingerprint": meta["fingerprint"]})
    write_json(Path(out_dir) / "cache.json", {
        "version": CACHE_VERSION, "manifest": str(manifest) if manifest else None, "config": to_dict(config),
        "cases": index, "failures": [{"case": k, "error": v} for k, v in failures.items()]})


def _read_index(cache_dir: Path) -> dict[str, Any]:
    """Parsed CACHE/cache.json, or InputError naming it."""
    path = Path(cache_dir) / "cache.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(path, "not a preprocessed cache (cache.json missing); run `medvlseg preprocess`") from exc
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable cache index ({exc})") from exc


def list_cases(cache_dir: str | Path, split: str | None = None, annotated: str | None = None) -> list[str]:
    """Names of the finished cases in a cache, optionally only those of `split` and of `annotated` side(s)."""
    return [c["case"] for c in _read_index(Path(cache_dir))["cases"]
            if (split is None or c["split"] == split) and (annotated is None or c["annotated"] == annotated)]


def load_config(cache_dir: str | Path) -> PreprocessConfig:
    """The PreprocessConfig a cache was built with."""
    from medvlseg.utils.config import from_dict

    return from_dict(PreprocessConfig, _read_index(Path(cache_dir))["config"], where="cache.json:config")


def load_case(cache_dir: str | Path, name: str) -> CachedCase:
    """Load one cached case with memory-mapped arrays (read-only)."""
    case_dir = Path(cache_dir) / name
    try:
        meta = json.loads((case_dir / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(case_dir, "case not in the cache (meta.json missing)") from exc
    except ValueError as exc:
        raise InputError(case_dir / "meta.json", f"corrupt ({exc})") from exc
    arrays: dict[str, np.ndarray | None] = {}
    for key in ARRAYS:
        rec = meta["arrays"].get(key)
        if rec is None:
            arrays[key] = None
            continue
        try:
            arrays[key] = np.load(case_dir / rec["file"], mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(case_dir / rec["file"], f"unreadable cached array ({exc})") from exc
        if list(arrays[key].shape) != rec["shape"]:  # type: ignore[union-attr]
            raise InputError(case_dir / rec["file"], f"shape {arrays[key].shape} != recorded {rec['shape']}")  # type: ignore[union-attr]
    return CachedCase(name=name, image=arrays["image"], label=arrays["label"], lung=arrays["lung"],  # type: ignore[arg-type]
                      annotated=np.array(meta["annotated_flags"], dtype=bool),
                      spacing=tuple(meta["spacing"]), split=meta["split"], meta=meta)  # type: ignore[arg-type]



@dataclass
class BuildReport:
    """Outcome of a cache build: case names built, skipped (up to date) and failed (name → error)."""

    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _worker(case: Case, config: PreprocessConfig, out_dir: Path, verify: bool, threads: int) -> str:
    """Process-pool entry: limit torch threads, build one case (its InputError pickles back to the parent)."""
    import torch

    torch.set_num_threads(max(1, threads))
    return build_case(case, config, out_dir, verify)


def _check_names(cases: list[Case], manifest: Path) -> None:
    """InputError on duplicate or path-unsafe case names."""
    seen: set[str] = set()
    for case in cases:
        if not case.name or "/" in case.name or case.name in (".", "..") or case.name in seen:
            raise InputError(manifest, f"case name {case.name!r} is empty, unsafe or duplicated")
        seen.add(case.name)


def build_cache(manifest: str | Path, out_dir: str | Path, config: PreprocessConfig, workers: int = 1,
                verify: bool = True, progress: bool = True) -> BuildReport:
    """Preprocess every case of `manifest` into `out_dir` (parallel processes); failures are reported, not raised."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from tqdm import tqdm

    manifest, out_dir = Path(manifest), Path(out_dir)
    cases = list(Manifest.load(manifest).cases)
    _check_names(cases, manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport()
    bar = tqdm(total=len(cases), desc="preprocess", unit="case", disable=not progress)

    def record(name: str, outcome: str | BaseException) -> None:
        if isinstance(outcome, BaseException):
            report.failed[name] = str(outcome)
            log.error("%s: %s", name, report.failed[name])
        else:
            (report.built if outcome == "built" else report.skipped).append(name)
        bar.update(1)

    if workers <= 1:
        for case in cases:
            try:
                record(case.name, build_case(case, config, out_dir, verify))
            except MedvlsegError as exc:  # a bad case is reported and skipped; the rest finish
                record(case.name, exc)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        import multiprocessing

        # spawn: a forked child of a process that already ran torch's OpenMP pool can crash or hang
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_worker, c, config, out_dir, verify, threads): c.name for c in cases}
            for fut in as_completed(futures):
                try:
                    record(futures[fut], fut.result())
                except (MedvlsegError, BrokenProcessPool) as exc:  # a bad case or a crashed worker
                    record(futures[fut], exc)
    bar.close()
    write_index(out_dir, config, cases, report.failed, manifest)
    return report
