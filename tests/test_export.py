"""`medvlseg export`: ONNX (onnxruntime, CPU) and TorchScript exports match the PyTorch network to 1e-4 with the
class embeddings folded in; `predict --engine onnx` gives the torch engine's label map; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from medvlseg.cli import main
from medvlseg.errors import CheckpointError
from medvlseg.infer.export import export_run
from medvlseg.infer.onnx_net import OnnxNet
from medvlseg.models import load_model


@pytest.fixture()
def run_dir(tiny_run: Path) -> Path:
    """The session's 1-epoch light lacaf run (conftest.tiny_run)."""
    return tiny_run


def _window(meta: dict, seed: int = 0) -> torch.Tensor:
    """A random (2, C, *window) input."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, meta["in_channels"], *meta["window"], generator=g)


def test_onnx_matches_torch(run_dir: Path, tmp_path: Path) -> None:
    path = export_run(run_dir, "onnx", out=tmp_path / "m.onnx")
    net = OnnxNet(path)
    assert net.meta["classes"] == json.loads((run_dir / "prompts.json").read_text(encoding="utf-8"))["classes"]
    x = _window(net.meta)
    model = load_model(run_dir / "best").eval()
    with torch.no_grad():
        ref = model(x)
    got = net(x)
    assert got.shape == ref.shape == (2, 4, *net.meta["window"])
    assert (got - ref).abs().max().item() < 1e-4
    with pytest.raises(ValueError, match="windows"):
        net(torch.zeros(1, net.meta["in_channels"], 16, 16, 16))


def test_torchscript_matches_torch_without_text_encoder(run_dir: Path, tmp_path: Path) -> None:
    path = export_run(run_dir, "torchscript", out=tmp_path / "m.pt")
    meta = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    scripted = torch.jit.load(str(path))
    x = _window(meta, seed=1)
    with torch.no_grad():
        ref = load_model(run_dir / "best").eval()(x)
        assert (scripted(x) - ref).abs().max().item() < 1e-4


def test_predict_engine_onnx_equals_torch(run_dir: Path, tiny_benchmark: Path, tmp_path: Path) -> None:
    work = tmp_path / "run"
    work.mkdir()
    for f in run_dir.iterdir():  # the fixture run stays untouched
        if f.is_file():
            (work / f.name).write_bytes(f.read_bytes())
    assert main(["export", str(work), "--format", "onnx"]) == 0
    image = next((tiny_benchmark.parent / "images").glob("*.nii.gz"))
    common = ["-i", str(image), "-m", str(work), "--no-progress"]
    assert main(["predict", *common, "-o", str(tmp_path / "t.nii.gz")]) == 0
    assert main(["predict", *common, "-o", str(tmp_path / "o.nii.gz"), "--engine", "onnx"]) == 0
    a = np.asarray(nib.load(str(tmp_path / "t.nii.gz")).dataobj)
    b = np.asarray(nib.load(str(tmp_path / "o.nii.gz")).dataobj)
    assert a.shape == b.shape and (a == b).mean() > 0.999


def test_errors(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(CheckpointError, match="no ONNX export"):
        OnnxNet(tmp_path / "none.onnx")
    image = tmp_path / "x.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.int16), np.eye(4)), str(image))
    code = main(["predict", "-i", str(image), "-o", str(tmp_path / "y.nii.gz"), "-m", str(run_dir),
                 "--engine", "onnx", "--prompt", "left pulmonary vein"])
    assert code == 1 and "--engine onnx" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "no_run")]) == 1
    assert not (tmp_path / "y.nii.gz").exists()
