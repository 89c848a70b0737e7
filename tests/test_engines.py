"""OpenVINO runs the ONNX export like torch (logits and predicted labels), and `--engine auto` picks an engine
explicitly: the CPU default when the export is current, torch otherwise, with the reason logged."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from medvlseg.errors import CheckpointError
from medvlseg.infer.engines import CPU_DEFAULT, choose_engine
from medvlseg.infer.export import export_run
from medvlseg.infer.openvino_net import OpenVinoNet
from medvlseg.infer.predictor import Predictor, PredictOptions
from medvlseg.models import load_model


@pytest.fixture()
def exported(tiny_run: Path, tmp_path: Path) -> Path:
    """A copy of the session's tiny run with its ONNX export (the fixture run stays untouched)."""
    work = tmp_path / "run"
    work.mkdir()
    for f in tiny_run.iterdir():
        if f.is_file():
            (work / f.name).write_bytes(f.read_bytes())
    export_run(work, "onnx")
    return work


def test_openvino_logits_match_torch(exported: Path) -> None:
    net = OpenVinoNet(exported / "model.onnx", threads=1)
    x = torch.rand(2, net.meta["in_channels"], *net.meta["window"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = load_model(exported / "best").eval()(x)
    got = net(x)
    assert got.shape == ref.shape and got.dtype == torch.float32
    assert (got - ref).abs().max().item() < 1e-4
    with pytest.raises(ValueError, match="windows"):
        net(torch.zeros(1, net.meta["in_channels"], 16, 16, 16))
    with pytest.raises(CheckpointError, match="no ONNX export"):
        OpenVinoNet(exported / "none.onnx")


def test_openvino_labels_agree_with_torch_on_vessel_voxels(exported: Path, tiny_benchmark: Path) -> None:
    from medvlseg.io import read_image

    volume = read_image(sorted((tiny_benchmark.parent / "images").glob("*.nii.gz"))[0])
    base = PredictOptions(engine="torch", probabilities=True, min_component_mm3=0.0, lung_margin_mm=-1.0)
    probs = Predictor.from_run(exported, base).predict_volume(volume).probabilities
    threshold = float(np.quantile(probs.max(0), 0.97))  # the 1-epoch model is unsure: its top 3 % are "vessel"
    labels = {engine: Predictor.from_run(exported, PredictOptions(
        engine=engine, threshold=threshold, min_component_mm3=0.0, lung_margin_mm=-1.0)).predict_volume(volume).labels
        for engine in ("torch", "openvino")}
    vessel = (labels["torch"] > 0) | (labels["openvino"] > 0)
    assert vessel.sum() > 100  # the comparison is not vacuous
    assert (labels["torch"][vessel] == labels["openvino"][vessel]).mean() >= 0.9999


def test_auto_engine_choice_is_logged(exported: Path, caplog: pytest.LogCaptureFixture) -> None:
    cpu, stem = torch.device("cpu"), exported / "best"
    with caplog.at_level(logging.INFO, logger="medvlseg.infer.engines"):
        assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == CPU_DEFAULT
        assert choose_engine("auto", PredictOptions(tta=True), cpu, exported, stem) == "torch"
        assert choose_engine("auto", PredictOptions(), torch.device("cuda"), exported, stem) == "torch"
        later = (exported / "model.onnx").stat().st_mtime + 10
        os.utime(exported / "best.safetensors", (later, later))  # weights newer than the export: stale
        assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == "torch"
    text = caplog.text
    assert f"engine {CPU_DEFAULT} (auto)" in text and "--tta" in text and "device cuda" in text
    assert "no current model.onnx" in text
    assert choose_engine("onnx", PredictOptions(), cpu, exported, stem) == "onnx"
    predictor = Predictor.from_run(exported, PredictOptions(engine="auto"))
    assert predictor.options.engine == "torch"  # stale export: the predictor records the engine it runs
