"""Which network engine runs the sliding windows: torch (eager), onnxruntime or OpenVINO (both on the run's ONNX
export, RUN/model.onnx from `medvlseg export`), and the logged choice behind `--engine auto`.

`CPU_DEFAULT` is the engine that measured fastest per window and end to end on CPU in
benchmarks/bench_predict.py while agreeing with torch on ≥ 99.99 % of vessel voxels (tests/test_engines.py checks
the agreement on a tiny model, tests/test_default_model.py on the shipped model). `auto` uses it when the export
exists and was made from the checkpoint's current weights (their SHA-256 is in the export's JSON), and torch
otherwise (GPU, free-text or box/point prompts, TTA, another window size, no or stale export), saying why.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from medvlseg.utils.tensor_files import sha256_file

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "onnx", "openvino")
CPU_DEFAULT = "openvino"
EXPORT_NAME = "model.onnx"


def needs_torch(options: Any, device: torch.device) -> str | None:
    """Why these options need the torch engine (a phrase), or None when an exported network can serve them."""
    if device.type != "cpu":
        return f"device {device}"
    for flag, on in (("--prompt", options.prompts), ("--tta", options.tta), ("--patch-size", options.patch_size),
                     ("--box/--point", options.box or options.points), ("--modality", options.modality)):
        if on:
            return flag
    return None


def export_is_current(run_dir: Path, checkpoint: Path) -> bool:
    """True when RUN/model.onnx and its JSON exist and were exported from the checkpoint's weights as they are now:
    the JSON's `weights_sha256` equals the weights' SHA-256 (exports made before checksums: the export is at least
    as new as the weights file)."""
    onnx = run_dir / EXPORT_NAME
    meta_path = onnx.with_name(onnx.name + ".json")
    weights = checkpoint.with_suffix(".safetensors")
    if not (onnx.is_file() and meta_path.is_file()):
        return False
    if not weights.is_file():
        return True
    try:
        digest = json.loads(meta_path.read_text(encoding="utf-8")).get("weights_sha256")
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable (%s): the export is treated as stale", meta_path, exc)
        return False
    if digest:
        return bool(digest == sha256_file(weights))
    return onnx.stat().st_mtime >= weights.stat().st_mtime


def choose_engine(engine: str, options: Any, device: torch.device, run_dir: Path, checkpoint: Path) -> str:
    """Resolve `auto` to an engine name, logging the choice and its reason; explicit names pass through."""
    if engine != "auto":
        return engine
    reason = needs_torch(options, device)
    if reason is None and not export_is_current(run_dir, checkpoint):
        reason = f"no current {EXPORT_NAME} in the run folder (`medvlseg export {run_dir}` makes one)"
    if reason is not None:
        log.info("engine torch (auto): %s", reason)
        return "torch"
    log.info("engine %s (auto): CPU default on %s", CPU_DEFAULT, run_dir / EXPORT_NAME)
    return CPU_DEFAULT


def load_exported(engine: str, run_dir: Path, threads: int = 0) -> torch.nn.Module:
    """The run's ONNX export behind the SegModel call signature, run by onnxruntime or OpenVINO."""
    if engine == "onnx":
        from medvlseg.infer.onnx_net import OnnxNet

        return OnnxNet(run_dir / EXPORT_NAME, threads)
    from medvlseg.infer.openvino_net import OpenVinoNet

    return OpenVinoNet(run_dir / EXPORT_NAME, threads)
