"""`OpenVinoNet`: the same ONNX export of a run (`medvlseg export`, RUN/model.onnx) compiled by OpenVINO for CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from medvlseg.errors import CheckpointError, InputError


class OpenVinoNet(torch.nn.Module):
    """An OpenVINO compiled model behind the SegModel call signature (CPU tensors in, CPU tensors out).

    Inference precision is pinned to f32: on CPUs with AVX512-BF16/AMX OpenVINO would otherwise run in bf16 and
    drift from torch's labels.
    """

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        super().__init__()
        import openvino as ov

        path = Path(path)
        meta_path = path.with_name(path.name + ".json")
        if not path.is_file() or not meta_path.is_file():
            raise CheckpointError(path, "no ONNX export here; run `medvlseg export RUN_DIR --format onnx` first")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.activation = self.meta["activation"]
        self.window = tuple(self.meta["window"])
        self.size_divisor = 1

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, *window) → logits; free-text prompts need the torch engine."""
        if text_embeddings is not None:
            raise InputError("--prompt", "the ONNX export has its class embeddings folded in; use --engine torch")
        if tuple(image.shape[2:]) != self.window:
            raise ValueError(f"the exported network takes {self.window} windows, got {tuple(image.shape[2:])}")
        x = np.ascontiguousarray(image.detach().cpu().numpy(), np.float32)
        out = self.request.infer({0: x})[self.compiled.output(0)]
        return torch.from_numpy(np.array(out, copy=True))
