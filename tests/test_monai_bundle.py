"""`medvlseg export RUN --format monai-bundle`: the bundle's layout and metadata, and `python -m monai.bundle run`
executed in a subprocess on a small NIfTI: output in the input's geometry, agreeing with `medvlseg predict`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.io import Manifest, read_image

LAYOUT = ("LICENSE", "configs/inference.json", "configs/metadata.json", "docs/README.md", "models/model.ts",
          "scripts/__init__.py", "scripts/transforms.py", "scripts/tubularity.py")


def test_bundle_runs_with_monai_and_agrees_with_predict(tiny_run: Path, tiny_benchmark: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    bundle = tmp_path / "bundle"
    assert main(["export", str(tiny_run), "--format", "monai-bundle", "--out", str(bundle)]) == 0
    assert all((bundle / f).is_file() for f in LAYOUT)
    assert not any("medvlseg" in line for f in (bundle / "scripts").iterdir()  # runs without medvlseg installed
                   for line in f.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith(("import ", "from ")))
    meta = json.loads((bundle / "configs" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["network_data_format"]["inputs"]["image"]["num_channels"] == 2  # CT + tubularity
    assert meta["label_classes"] == {"1": "pulmonary artery", "2": "pulmonary vein"}
    assert main(["export", str(tiny_run), "--format", "monai-bundle", "--out", str(bundle)]) == 1  # no overwrite
    capsys.readouterr()

    case = Manifest.load(tiny_benchmark).split("test")[0]
    inputs = tmp_path / "in"
    inputs.mkdir()
    image = inputs / "ct.nii.gz"
    image.write_bytes(Path(case.image).read_bytes())
    # a 1-epoch run is unsure everywhere: compare both at the threshold that makes ~3 % of voxels vessel
    probe = tmp_path / "probe.nii.gz"
    assert main(["predict", "-i", str(image), "-o", str(probe), "-m", str(tiny_run), "--no-progress",
                 "--probabilities"]) == 0
    probs = np.asarray(nib.load(str(tmp_path / "probe_probabilities.nii.gz")).dataobj).max(axis=-1)
    threshold = f"{float(np.quantile(probs, 0.97)):.4f}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the bundle must not need medvlseg
    proc = subprocess.run([sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/inference.json",
                           "--dataset_dir", str(inputs), "--output_dir", str(tmp_path / "out"),
                           "--threshold", threshold], cwd=bundle, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = nib.load(str(tmp_path / "out" / "ct_seg.nii.gz"))
    ref = nib.load(str(image))
    assert out.shape == ref.shape and np.allclose(out.affine, ref.affine, atol=1e-5)
    labels = np.asarray(out.dataobj)
    assert set(np.unique(labels)) <= {0, 1, 2}

    pred = tmp_path / "pred.nii.gz"  # the same network through medvlseg, without its lung/component clean-up
    assert main(["predict", "-i", str(image), "-o", str(pred), "-m", str(tiny_run), "--no-progress",
                 "--min-component-mm3", "0", "--lung-margin-mm", "-1", "--threshold", threshold]) == 0
    ours = np.asarray(read_image(pred).to_source(read_image(pred).array))
    fg_ours, fg_bundle = ours > 0, labels > 0
    dice = 2 * float((fg_ours & fg_bundle).sum()) / max(float(fg_ours.sum() + fg_bundle.sum()), 1.0)
    same_class = float((ours[fg_ours & fg_bundle] == labels[fg_ours & fg_bundle]).mean())
    print(f"bundle vs predict: vessel Dice {dice:.3f}, same class {same_class:.3f}, {fg_ours.sum()} voxels")
    assert fg_ours.sum() > 100 and dice > 0.8 and same_class > 0.95, (dice, same_class)
