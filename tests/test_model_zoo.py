"""Shipped-model mechanism on a tiny packaged run: fp16 packaging + checksums, `predict` without -m, `medvlseg
models`, `train --init` (weights copied, own prompts kept, half-labeled data, mismatches one clear error)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

from medvlseg.cli import main
from medvlseg.errors import CheckpointError, ConfigError
from medvlseg.io import Manifest
from medvlseg.models import zoo
from medvlseg.models.serialization import load_model


@pytest.fixture()
def shipped(tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny run packaged as the shipped `default` model of a temporary package root."""
    root = tmp_path / "models"
    monkeypatch.setattr(zoo, "SHIPPED_ROOT", root)
    return zoo.package_run(tiny_run, root / "default", training={"steps": 3, "data": "tiny", "route": "cpu"})


def test_package_is_fp16_and_predicts_like_the_run(shipped: Path, tiny_run: Path) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(shipped / "best.safetensors"))
    assert {t.dtype for t in tensors.values() if t.is_floating_point()} == {torch.float16}
    assert "class_embeddings" in tensors  # folded in: predict loads no text encoder
    a, b = load_model(tiny_run / "best"), load_model(shipped / "best")
    x = torch.rand(1, a.config.in_channels, 32, 32, 32)
    with torch.no_grad():
        pa, pb = torch.sigmoid(a(x)), torch.sigmoid(b(x))
    assert float((pa - pb).abs().max()) < 0.02  # fp16 rounding only
    assert zoo.resolve_model(None) == shipped and zoo.resolve_model("default") == shipped


def test_corrupt_shipped_file_is_one_clear_error(shipped: Path, tiny_benchmark: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    for name in ("best.safetensors", "config.yaml"):
        path = shipped / name
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match=f"{name}.*checksum"):
            zoo.resolve_model(None)
        shutil.copyfile(path, tmp_path / "keep")
    image = Manifest.load(tiny_benchmark).split("test")[0].image
    assert main(["predict", "-i", str(image), "-o", str(tmp_path / "p.nii.gz")]) == 1
    assert "checksum" in capsys.readouterr().err and not (tmp_path / "p.nii.gz").exists()


def test_predict_without_model_uses_the_shipped_one(shipped: Path, tiny_benchmark: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    image = Manifest.load(tiny_benchmark).split("test")[0].image
    out = tmp_path / "p.nii.gz"
    assert main(["predict", "-i", str(image), "-o", str(out), "--no-progress"]) == 0
    a, b = nib.load(str(image)), nib.load(str(out))
    assert a.shape == b.shape and np.allclose(a.affine, b.affine)
    ref = tmp_path / "ref.nii.gz"
    assert main(["predict", "-i", str(image), "-o", str(ref), "-m", str(shipped)]) == 0
    assert np.array_equal(np.asarray(b.dataobj), np.asarray(nib.load(str(ref)).dataobj))
    capsys.readouterr()
    assert main(["models", str(shipped.parent.parent / "nope")]) == 1
    assert "not found" in capsys.readouterr().err


def test_models_lists_shipped_and_given(shipped: Path, tiny_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "--verify", str(tiny_run), str(tiny_run.parent)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("default") and "shipped" in lines[0] and "checksums OK" in lines[0]
    assert sum("run " in line and str(tiny_run) in line for line in lines) == 2


def test_init_copies_weights_keeps_own_prompts(shipped: Path, tiny_run: Path, tiny_benchmark: Path,
                                               tmp_path: Path) -> None:
    run = tmp_path / "ft"
    manifest = Manifest.load(tiny_benchmark)
    assert {c.annotated for c in manifest.split("training")} & {"left", "right"}  # half-labeled cases train
    code = main(["train", "--init", "default", "--data", str(tiny_benchmark), "--out", str(run), "--epochs", "1",
                 "--steps-per-epoch", "1", "--lr", "1e-9", "--val-every", "0", "--template", "a scan of {}",
                 "--no-progress", "--device", "cpu"])
    assert code == 0
    saved = (run / "config.yaml").read_text(encoding="utf-8")
    assert "init: default" in saved and f"data: {tiny_benchmark}" in saved
    start, tuned = load_model(shipped / "best"), load_model(run / "last")
    s0, s1 = start.state_dict(), tuned.state_dict()
    conv = next(k for k in s0 if k.endswith("weight") and s0[k].dim() == 5)
    assert torch.allclose(s0[conv], s1[conv], atol=1e-3)  # lr 1e-9: still the initial weights
    assert not torch.allclose(s0["class_embeddings"], s1["class_embeddings"])  # the new prompts' embeddings
    assert json.loads((run / "prompts.json").read_text())["prompts"][0].startswith("a scan of")


def test_init_mismatch_is_one_clear_error(shipped: Path, tiny_cache: Path, tmp_path: Path) -> None:
    from medvlseg.models import build_model
    from medvlseg.models.presets import get_preset
    from medvlseg.train.init import load_init_weights

    other = build_model(get_preset("lacaf", light=True, text_dim=384, in_channels=3))
    with pytest.raises(ConfigError, match="does not fit"):
        load_init_weights(other, "default")
    with pytest.raises(CheckpointError, match="not found"):
        load_init_weights(other, str(tmp_path / "missing"))


def test_package_data_ships_every_model_file() -> None:
    """pyproject's package-data globs (setuptools: `*` does not cross folders) cover each shipped model file."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["medvlseg"]
    pkg = root / "src" / "medvlseg"
    files = [p.relative_to(pkg).as_posix() for p in (pkg / "resources" / "models").rglob("*") if p.is_file()]
    assert any(f.endswith("best.safetensors") for f in files)
    for f in files:
        assert any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs), f


def test_shipped_model_accepts_new_prompts(shipped: Path, tiny_benchmark: Path, tmp_path: Path) -> None:
    image = Manifest.load(tiny_benchmark).split("test")[0].image
    prompts = ["left lung artery", "left lung vein", "right lung artery", "right lung vein"]
    out = tmp_path / "p.nii.gz"
    args = ["predict", "-i", str(image), "-o", str(out)]
    for p in prompts:
        args += ["--prompt", p]
    assert main(args) == 0
    names = json.loads(out.with_name("p.json").read_text(encoding="utf-8"))
    assert prompts[0] in json.dumps(names)


def test_packaged_config_forgets_the_runs_init(tiny_run: Path, tmp_path: Path) -> None:
    """A run that was itself fine-tuned (`init: default`) packages a config without `init`: training from the
    shipped config must start from scratch, not silently from the shipped weights."""
    import yaml

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**cfg, "init": "default"}))
    out = zoo.package_run(run, tmp_path / "pkg", training={"steps": 3})
    packaged = yaml.safe_load((out / "config.yaml").read_text())
    assert "init" not in packaged and packaged["patch_size"] == cfg["patch_size"]
    assert zoo.verify_shipped(out)  # checksums written after the rewrite
