"""`OpenVinoNet`: the same ONNX export of a run (`medvlseg export`, RUN/model.onnx) compiled by OpenVINO for CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medvlseg.infer.onnx_net import ExportedNet


class OpenVinoNet(ExportedNet):
    """An OpenVINO compiled model behind the SegModel call signature (CPU tensors in, CPU tensors out).

    Inference precision is pinned to f32: on CPUs with AVX512-BF16/AMX OpenVINO would otherwise run in bf16 and
    drift from torch's labels.
    """

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        super().__init__(path)
        import openvino as ov

        config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(self.path)), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def _run(self, x: np.ndarray) -> np.ndarray:
        """One OpenVINO inference request (copied out of OpenVINO's reused output buffer)."""
        return np.array(self.request.infer({0: x})[self.compiled.output(0)], copy=True)
