"""`OnnxNet`: an ONNX export of a run (`medvlseg export`, medvlseg.infer.export) run by onnxruntime on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from medvlseg.errors import CheckpointError, InputError


class OnnxNet(torch.nn.Module):
    """An onnxruntime session behind the SegModel call signature (CPU tensors in, CPU tensors out)."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        super().__init__()
        import onnxruntime as ort

        path = Path(path)
        meta_path = path.with_name(path.name + ".json")
        if not path.is_file() or not meta_path.is_file():
            raise CheckpointError(path, "no ONNX export here; run `medvlseg export RUN_DIR --format onnx` first")
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.activation = self.meta["activation"]
        self.window = tuple(self.meta["window"])
        self.size_divisor = 1

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, *window) → logits; free-text prompts need the torch engine."""
        if text_embeddings is not None:
            raise InputError("--prompt", "the ONNX export has its class embeddings folded in; use --engine torch")
        if tuple(image.shape[2:]) != self.window:
            raise ValueError(f"the ONNX export takes {self.window} windows, got {tuple(image.shape[2:])}")
        out = self.session.run(None, {"image": np.ascontiguousarray(image.detach().cpu().numpy(), np.float32)})[0]
        return torch.from_numpy(out)
