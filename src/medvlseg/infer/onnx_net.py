"""Exported networks (`medvlseg export`, medvlseg.infer.export): the shared window contract, and `OnnxNet`
run by onnxruntime on CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from medvlseg.errors import CheckpointError, InputError


class ExportedNet(torch.nn.Module):
    """An exported fixed-window network behind the SegModel call signature; subclasses run one window (`_run`)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        path = Path(path)
        meta_path = path.with_name(path.name + ".json")
        if not path.is_file() or not meta_path.is_file():
            raise CheckpointError(path, "no ONNX export here; run `medvlseg export RUN_DIR --format onnx` first")
        self.path = path
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.activation = self.meta["activation"]
        self.window = tuple(self.meta["window"])
        self.size_divisor = 1

    def _run(self, x: np.ndarray) -> np.ndarray:
        """(B, C, *window) float32 → logits."""
        raise NotImplementedError

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, *window) → logits; free-text prompts need the torch engine."""
        if text_embeddings is not None:
            raise InputError("--prompt", "the ONNX export has its class embeddings folded in; use --engine torch")
        if tuple(image.shape[2:]) != self.window:
            raise ValueError(f"the exported network takes {self.window} windows, got {tuple(image.shape[2:])}")
        return torch.from_numpy(self._run(np.ascontiguousarray(image.detach().cpu().numpy(), np.float32)))


class OnnxNet(ExportedNet):
    """An onnxruntime session behind the SegModel call signature (CPU tensors in, CPU tensors out)."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        super().__init__(path)
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def _run(self, x: np.ndarray) -> np.ndarray:
        """One onnxruntime call."""
        return self.session.run(None, {"image": x})[0]
