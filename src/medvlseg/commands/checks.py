"""Option checks the commands make before any work (each failure: one `InputError`, no traceback).

Device availability (listing what is available), patch size against the network's size divisor, finite
positive learning rate, mesh formats, `--dicom-seg` applicability, ONNX opset range, run-folder patch sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medvlseg.errors import InputError
from medvlseg.io.checks import check_patch_size

MESH_FORMATS = ("stl", "obj", "ply", "glb")


def available_devices() -> list[str]:
    """Torch devices this process can use: cpu, cuda:0..n-1, mps."""
    import torch

    names = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names


def check_device(name: str | None, where: str | Path = "--device") -> None:
    """Error unless `name` is auto/None or a torch device that exists here (the message lists them)."""
    if name in (None, "", "auto"):
        return
    import torch

    try:
        device = torch.device(str(name))
    except (RuntimeError, ValueError) as exc:
        raise InputError(where, f"unknown --device {name!r}; available: {', '.join(available_devices())}") from exc
    ok = device.type == "cpu" or (
        device.type == "cuda" and torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    ) or (device.type == "mps" and "mps" in available_devices())
    if not ok:
        raise InputError(where, f"--device {name!r} is not available; available: {', '.join(available_devices())}")


def check_lr(lr: float | None, where: str | Path = "--lr") -> None:
    """Error unless the learning rate is finite and positive."""
    if lr is not None and (not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0):
        raise InputError(where, f"learning rate must be a finite positive number, got {lr!r}")


def check_mesh_formats(formats: Sequence[str], where: str | Path = "--mesh-format") -> None:
    """Error unless every mesh format is one of MESH_FORMATS (and there is at least one)."""
    bad = [f for f in formats if f not in MESH_FORMATS]
    if bad or not formats:
        raise InputError(where, f"mesh format(s) {bad or list(formats)} not supported; use {', '.join(MESH_FORMATS)}")


def check_opset(opset: int, where: str | Path = "--opset") -> None:
    """Error unless the ONNX opset is one torch's exporter can target (14 .. onnx's newest)."""
    import onnx

    newest = int(onnx.defs.onnx_opset_version())
    if not 14 <= int(opset) <= newest:
        raise InputError(where, f"--opset {opset} is not supported: use 14 to {newest}")


def check_dicom_seg_input(path: Path) -> None:
    """Error unless `path` is a DICOM series folder (the only input a DICOM-SEG can reference)."""
    from medvlseg.io.dicom import is_dicom_folder

    if not is_dicom_folder(path):
        raise InputError(path, "--dicom-seg needs a DICOM series folder as input (this is not one)")


def model_divisor(config: Any) -> int | None:
    """Spatial size divisor (voxels) of the network a TrainConfig builds; None when it cannot be built alone."""
    from medvlseg.errors import ConfigError
    from medvlseg.models import build_model
    from medvlseg.models.presets import get_preset

    try:
        model = build_model(get_preset(config.preset, light=config.light, num_classes=config.num_classes,
                                       **config.model))
    except (ConfigError, ValueError, TypeError, KeyError):
        return None
    return int(getattr(model, "size_divisor", 1))


def check_train_config(config: Any, where: str | Path = "train config") -> None:
    """Before preprocessing or training: device, finite positive lr, patch size vs the network's divisor, counts."""
    check_device(config.device, "--device")
    check_lr(config.lr)
    divisor = model_divisor(config) or 1
    check_patch_size(config.patch_size, "--patch-size", divisor=divisor, name="patch size")
    for name in ("epochs", "batch_size", "steps_per_epoch"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(where, f"{name} must be a positive integer, got {value!r}")
