"""Deployable networks: ONNX (onnxruntime) and TorchScript exports of a run for fixed-size windows.

The class embeddings are folded in (the model's stored buffer becomes a constant), so no text encoder is
needed. The export sits in the run folder (`RUN/model.onnx`, `RUN/model.torchscript.pt`) with a JSON side file
(`<file>.json`: window, channels, activation, class names) that `predict --engine onnx` reads through
`medvlseg.infer.onnx_net.OnnxNet`.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from medvlseg.errors import InputError
from medvlseg.infer.predictor import Predictor, PredictOptions
from medvlseg.utils.atomic import atomic_path, write_json
from medvlseg.utils.tensor_files import sha256_file

log = logging.getLogger(__name__)

DEFAULT_NAMES = {"onnx": "model.onnx", "torchscript": "model.torchscript.pt"}


def export_run(run_dir: str | Path, fmt: str = "onnx", out: str | Path | None = None, window: int | None = None,
               checkpoint: str = "best", opset: int = 18) -> Path:
    """Export the run's network for `window`³ inputs (default: its training patch, rounded to the divisor)."""
    if fmt not in DEFAULT_NAMES:
        raise InputError(fmt, f"unknown export format; choose one of {sorted(DEFAULT_NAMES)}")
    run_dir = Path(run_dir)
    predictor = Predictor.from_run(run_dir, PredictOptions(device="cpu", checkpoint=checkpoint, patch_size=window,
                                                                engine="torch"))
    model = predictor.model.eval()
    roi = list(predictor.roi)
    example = torch.zeros(1, model.config.in_channels, *roi)
    out = Path(out) if out else run_dir / DEFAULT_NAMES[fmt]
    with atomic_path(out, suffix=out.suffix) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape checks that are constant for a fixed window
        if fmt == "onnx":
            torch.onnx.export(model, (example,), str(tmp), input_names=["image"], output_names=["logits"],
                              dynamo=False, opset_version=opset,
                              dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        else:
            traced = torch.jit.trace(model, (example,), check_trace=False)
            traced.save(str(tmp))
    write_json(out.with_name(out.name + ".json"), {
        "format": fmt, "window": roi, "in_channels": model.config.in_channels, "activation": model.activation,
        "num_classes": model.config.num_classes, "preset": model.config.preset, "classes": predictor.class_names,
        "checkpoint": checkpoint, "weights_sha256": sha256_file(run_checkpoint_weights(run_dir, checkpoint))})
    return out


def run_checkpoint_weights(run_dir: Path, checkpoint: str) -> Path:
    """The safetensors file the predictor loads for `checkpoint` (best, falling back to last)."""
    from medvlseg.train.run_folder import read_run

    return read_run(run_dir).checkpoint(checkpoint).with_suffix(".safetensors")
