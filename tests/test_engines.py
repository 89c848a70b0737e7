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


def _perturb_weights(stem: Path) -> None:
    """Re-save checkpoint `stem` (safetensors + JSON) with one weight changed."""
    from medvlseg.models.serialization import save_model

    model = load_model(stem)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    save_model(stem, model)


def test_export_without_checksum_falls_back_to_mtime(exported: Path) -> None:
    """Exports made before checksums (no `weights_sha256`): current while at least as new as the weights."""
    import json

    meta_path = exported / "model.onnx.json"
    meta = json.loads(meta_path.read_text())
    assert len(meta.pop("weights_sha256")) == 64
    meta_path.write_text(json.dumps(meta))
    cpu, stem = torch.device("cpu"), exported / "best"
    assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == CPU_DEFAULT
    later = (exported / "model.onnx").stat().st_mtime + 10
    os.utime(exported / "best.safetensors", (later, later))
    assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == "torch"


def test_shipped_default_model_runs_the_cpu_default_engine() -> None:
    """The shipped default model carries a current ONNX export (≤ 25 MB), so `auto` picks the CPU default."""
    from medvlseg.models.zoo import SHIPPED_ROOT

    folder = SHIPPED_ROOT / "default"
    assert (folder / "model.onnx").stat().st_size < 25 * 2**20
    assert choose_engine("auto", PredictOptions(fast=True), torch.device("cpu"), folder, folder / "best") == CPU_DEFAULT
    predictor = Predictor.from_run(folder, PredictOptions(fast=True, device="cpu"))
    assert predictor.options.engine == CPU_DEFAULT and tuple(predictor.model.window) == tuple(predictor.roi)


def test_auto_engine_choice_is_logged(exported: Path, caplog: pytest.LogCaptureFixture) -> None:
    cpu, stem = torch.device("cpu"), exported / "best"
    with caplog.at_level(logging.INFO, logger="medvlseg.infer.engines"):
        assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == CPU_DEFAULT
        assert choose_engine("auto", PredictOptions(tta=True), cpu, exported, stem) == "torch"
        assert choose_engine("auto", PredictOptions(), torch.device("cuda"), exported, stem) == "torch"
        later = (exported / "model.onnx").stat().st_mtime + 10
        os.utime(exported / "best.safetensors", (later, later))  # touched, same weights: still current (SHA-256)
        assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == CPU_DEFAULT
        _perturb_weights(stem)  # other weights: stale
        assert choose_engine("auto", PredictOptions(), cpu, exported, stem) == "torch"
    text = caplog.text
    assert f"engine {CPU_DEFAULT} (auto)" in text and "--tta" in text and "device cuda" in text
    assert "no current model.onnx" in text
    assert choose_engine("onnx", PredictOptions(), cpu, exported, stem) == "onnx"
    predictor = Predictor.from_run(exported, PredictOptions(engine="auto"))
    assert predictor.options.engine == "torch"  # stale export: the predictor records the engine it runs
