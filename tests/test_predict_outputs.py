"""predict's extra outputs and scale-out: `--meshes --report --dicom-seg` on a DICOM series input, and sharded
batch inference under torchrun (2 CPU ranks): every case written exactly once, one combined summary, resumable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.io import Manifest, read_image
from medvlseg.io.dicom import write_dicom_series

BIN = Path(sys.executable).parent


@pytest.fixture()
def run_dir(tiny_run: Path) -> Path:
    """The session's 1-epoch light lacaf run (conftest.tiny_run)."""
    return tiny_run


def _as_dicom_series(image: Path, folder: Path) -> Path:
    """Write a phantom image as an LPS DICOM series (HU, same world grid)."""
    vol = read_image(image)
    spacing = tuple(float(s) for s in vol.spacing)
    flipped = vol.array[::-1, ::-1, :]  # canonical RAS order → LPS order (i towards Left, j towards Posterior)
    origin_lps = (-(vol.affine[0, 3] + vol.affine[0, 0] * (vol.array.shape[0] - 1)),
                  -(vol.affine[1, 3] + vol.affine[1, 1] * (vol.array.shape[1] - 1)), vol.affine[2, 3])
    write_dicom_series(folder, np.round(flipped).astype(np.int16), spacing, origin_lps, (-1, 0, 0, 0, -1, 0, 0, 0, 1))
    return folder


def test_dicom_input_with_meshes_report_and_dicom_seg(run_dir: Path, tiny_benchmark: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    case = Manifest.load(tiny_benchmark).split("test")[0]
    series = _as_dicom_series(case.image, tmp_path / "series")
    out = tmp_path / "pred" / "case.nii.gz"
    code = main(["predict", "-i", str(series), "-o", str(out), "-m", str(run_dir), "--meshes", "--report",
                 "--dicom-seg", "--mesh-format", "stl,obj", "--mesh-faces", "2000", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    vol = read_image(series)
    pred = read_image(out)
    np.testing.assert_allclose(pred.affine, vol.affine, atol=1e-4)
    labels = np.asarray(pred.array)
    meta = json.loads((tmp_path / "pred" / "case_meshes" / "case_meshes.json").read_text(encoding="utf-8"))
    assert [c["label"] for c in meta["classes"]] == [int(v) for v in np.unique(labels) if v > 0]
    for c in meta["classes"]:
        assert c["volume_ml"] == pytest.approx((labels == c["label"]).sum() * np.prod(vol.spacing) / 1000)
        assert c["faces"] <= 2000 and len(c["files"]) == 2
    assert (tmp_path / "pred" / "case_report.png").stat().st_size > 10_000
    seg = hd.seg.segread(tmp_path / "pred" / "case_seg.dcm")
    assert len(seg.SegmentSequence) == 2 and int(seg.NumberOfFrames) == 2 * vol.array.shape[2]
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["pulmonary artery", "pulmonary vein"]


def test_dicom_seg_on_a_nifti_input_fails_without_partial_output(run_dir: Path, tiny_benchmark: Path,
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    case = Manifest.load(tiny_benchmark).split("test")[0]
    out = tmp_path / "p.nii.gz"
    assert main(["predict", "-i", str(case.image), "-o", str(out), "-m", str(run_dir), "--dicom-seg"]) == 1
    assert "needs a DICOM series" in capsys.readouterr().err
    assert not out.exists()


def test_torchrun_two_ranks_each_case_once_and_resumable(run_dir: Path, tiny_benchmark: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "pred"
    cmd = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node=2", "-m", "medvlseg.cli", "predict",
           "-i", str(tiny_benchmark), "-o", str(out), "-m", str(run_dir), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(cmd, env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    names = sorted(c.name for c in Manifest.load(tiny_benchmark).cases)
    assert sorted(p.name[: -len(".nii.gz")] for p in out.glob("*.nii.gz")) == names
    summary = json.loads((out / "predict_summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["done"]) == names and summary["ranks"] == 2 and not summary["failed"]
    per_rank = [json.loads((out / f"predict_summary.rank{r}.json").read_text(encoding="utf-8"))["done"] for r in (0, 1)]
    assert sorted(per_rank[0] + per_rank[1]) == names and not set(per_rank[0]) & set(per_rank[1])
    stamp = {p.name: p.stat().st_mtime_ns for p in out.glob("*.nii.gz")}
    again = subprocess.run(cmd, env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.nii.gz")} == stamp  # nothing redone
    summary = json.loads((out / "predict_summary.json").read_text(encoding="utf-8"))
    assert not summary["done"] and sorted(summary["skipped"]) == names
