"""Batch prediction: many inputs → one folder; a bad case is reported and skipped, the others finish.

Inputs: an image file, a DICOM series folder, a folder of images/series, or a manifest JSON (its cases,
optionally one split). A summary JSON (`<out>/predict_summary.json`) lists done, skipped and failed cases.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medvlseg.errors import InputError, MedvlsegError
from medvlseg.io import case_name, find_images, image_ext
from medvlseg.utils.atomic import write_json

log = logging.getLogger(__name__)

SUMMARY_NAME = "predict_summary.json"


@dataclass
class BatchItem:
    """One case to predict: its name (output file stem) and input path."""

    name: str
    path: Path


@dataclass
class BatchReport:
    """What happened to each case."""

    done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # case → reason
    failed: dict[str, str] = field(default_factory=dict)  # case → error message
    seconds: dict[str, float] = field(default_factory=dict)  # case → wall time, s

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {"n_done": len(self.done), "n_skipped": len(self.skipped), "n_failed": len(self.failed),
                **asdict(self)}


def _is_manifest(path: Path) -> bool:
    """True for a .json file (a dataset manifest)."""
    return path.is_file() and path.suffix.lower() == ".json"


def collect_inputs(path: str | Path, split: str | None = None) -> list[BatchItem]:
    """Cases to predict from a file, DICOM folder, folder of images or manifest (optionally one split)."""
    from medvlseg.io import Manifest

    path = Path(path)
    if not path.exists():
        raise InputError(path, "input not found")
    if _is_manifest(path):
        manifest = Manifest.load(path)
        cases = manifest.split(split) if split else manifest.cases
        return [BatchItem(c.name, Path(c.image)) for c in cases]
    if path.is_file():
        return [BatchItem(case_name(path), path)]
    found = find_images(path)
    if found == [path]:
        return [BatchItem(case_name(path), path)]
    if not found:
        raise InputError(path, "no images (NIfTI/NRRD/MHA/MHD or DICOM series) found in the folder")
    return [BatchItem(case_name(p), p) for p in found]


def is_single(path: str | Path) -> bool:
    """True when `path` is one image (file or DICOM series folder), so OUTPUT is a file."""
    path = Path(path)
    if _is_manifest(path):
        return False
    if path.is_file():
        return True
    return path.is_dir() and find_images(path) == [path]


def output_for(out_dir: Path, item: BatchItem, ext: str = ".nii.gz") -> Path:
    """Label-map path of a case in the output folder: `<out>/<case><ext>`."""
    return out_dir / f"{item.name}{ext}"


def run_batch(predict: Callable[[Path, Path], object], items: Sequence[BatchItem], out_dir: str | Path,
              overwrite: bool = False, ext: str = ".nii.gz", progress: bool = True,
              summary_name: str = SUMMARY_NAME) -> BatchReport:
    """Predict each item with `predict(input, output)`; skip existing outputs unless `overwrite`; never raise."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "output exists and is not a folder")
    if not image_ext(f"x{ext}"):
        raise InputError(out_dir, f"unsupported output extension {ext!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BatchReport()
    names = [i.name for i in items]
    dupes = {n for n in names if names.count(n) > 1}
    for item in tqdm(items, desc="predict", unit="case", disable=not progress):
        target = output_for(out_dir, item, ext)
        if item.name in dupes:
            report.failed[item.name] = f"{item.path}: another input has the same case name"
            continue
        if target.exists() and not overwrite:
            report.skipped[item.name] = f"{target} exists (use --overwrite)"
            log.info("skip %s: %s exists", item.name, target)
            continue
        t0 = time.perf_counter()
        try:
            predict(item.path, target)
            report.done.append(item.name)
        except MedvlsegError as exc:
            report.failed[item.name] = str(exc)
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:  # unexpected reader/model failures
            report.failed[item.name] = f"{item.path}: {type(exc).__name__}: {exc}"
            log.debug("case %s failed", item.name, exc_info=True)
        report.seconds[item.name] = round(time.perf_counter() - t0, 3)
    write_json(out_dir / summary_name, report.to_dict())
    return report
