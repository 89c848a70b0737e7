"""`medvlseg predict`: input geometry kept (RAS/LPS/LAS/RPS phantoms and the real LPS CT), batch failures,
no partial outputs, 5-class and probability outputs, free-text prompts, overwrite rules."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.infer.predictor import Predictor, PredictOptions
from medvlseg.io import Manifest



@pytest.fixture()
def run_dir(tiny_run: Path) -> Path:
    """The session's 1-epoch light lacaf run (conftest.tiny_run)."""
    return tiny_run


def _same_geometry(a: Path, b: Path) -> None:
    ia, ib = nib.load(str(a)), nib.load(str(b))
    assert ia.shape[:3] == ib.shape[:3]
    assert np.allclose(ia.affine, ib.affine, atol=1e-5)
    assert nib.aff2axcodes(ia.affine) == nib.aff2axcodes(ib.affine)


def test_batch_keeps_each_input_geometry(run_dir: Path, tiny_benchmark: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred"
    assert main(["predict", "-i", str(tiny_benchmark), "-o", str(out), "-m", str(run_dir), "--no-progress"]) == 0
    cases = Manifest.load(tiny_benchmark).cases
    codes = set()
    for case in cases:
        pred = out / f"{case.name}.nii.gz"
        _same_geometry(pred, case.image)
        codes.add(nib.aff2axcodes(nib.load(str(case.image)).affine))
        values = set(np.unique(np.asarray(nib.load(str(pred)).dataobj)).tolist())
        assert values <= {0, 1, 2}
        side = json.loads((out / f"{case.name}.json").read_text(encoding="utf-8"))
        assert side["labels"] == {"0": "background", "1": "pulmonary artery", "2": "pulmonary vein"}
        assert (out / f"{case.name}.ctbl").is_file() and (out / f"{case.name}.itksnap.txt").is_file()
    assert ("R", "A", "S") in codes and ("L", "P", "S") in codes
    summary = json.loads((out / "predict_summary.json").read_text(encoding="utf-8"))
    assert summary["n_done"] == len(cases) and summary["n_failed"] == 0


def test_real_lps_ct_geometry(run_dir: Path, tmp_path: Path, real_ct: Path) -> None:
    out = tmp_path / "real_pred.nii.gz"
    assert main(["predict", "-i", str(real_ct), "-o", str(out), "-m", str(run_dir), "--fast"]) == 0
    _same_geometry(out, real_ct)
    import SimpleITK as sitk

    a, b = sitk.ReadImage(str(out)), sitk.ReadImage(str(real_ct))
    assert a.GetSize() == b.GetSize() and np.allclose(a.GetDirection(), b.GetDirection())
    assert np.allclose(a.GetOrigin(), b.GetOrigin(), atol=1e-4)


def test_corrupt_case_is_reported_and_others_finish(run_dir: Path, tiny_benchmark: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    good = Manifest.load(tiny_benchmark).cases[0].image
    (folder / "good.nii.gz").write_bytes(good.read_bytes())
    (folder / "broken.nii.gz").write_bytes(good.read_bytes()[:2000])  # truncated gzip
    out = tmp_path / "out"
    assert main(["predict", "-i", str(folder), "-o", str(out), "-m", str(run_dir), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "broken" in err and "good" not in err.replace("broken", "")
    assert (out / "good.nii.gz").is_file()
    assert not any(p.name.startswith("broken") for p in out.iterdir())  # no partial output of the bad case
    summary = json.loads((out / "predict_summary.json").read_text(encoding="utf-8"))
    assert summary["done"] == ["good"] and list(summary["failed"]) == ["broken"]


def test_five_classes_probabilities_and_no_overwrite(run_dir: Path, tiny_benchmark: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    image = Manifest.load(tiny_benchmark).split("test")[0].image
    out = tmp_path / "case.nii.gz"
    args = ["predict", "-i", str(image), "-o", str(out), "-m", str(run_dir), "--classes", "5", "--probabilities",
            "--min-component-mm3", "0", "--lung-margin-mm", "-1", "--threshold", "0.3"]
    assert main(args) == 0
    labels = np.asarray(nib.load(str(out)).dataobj)
    probs = nib.load(str(tmp_path / "case_probabilities.nii.gz"))
    assert set(np.unique(labels).tolist()) <= {0, 1, 2, 3, 4}
    assert probs.shape == labels.shape + (4,)
    p = np.asarray(probs.dataobj)
    assert 0.0 <= p.min() and p.max() <= 1.0
    best = p.argmax(-1) + 1
    fg = labels > 0
    assert np.array_equal(labels[fg], best[fg])  # a labelled voxel takes its most probable class
    assert not np.any(labels[p.max(-1) < 0.29])  # below the threshold stays background
    before = out.stat().st_mtime_ns
    assert main(args) == 0
    assert out.stat().st_mtime_ns == before and "exists" in capsys.readouterr().err


def test_free_text_prompts(run_dir: Path, tiny_benchmark: Path) -> None:
    from medvlseg.io import read_image

    volume = read_image(Manifest.load(tiny_benchmark).split("test")[0].image)
    prompts = ("left pulmonary vein", "left pulmonary artery", "right pulmonary vein", "right pulmonary artery")
    base = Predictor.from_run(run_dir, PredictOptions(classes=5, probabilities=True))
    swapped = Predictor.from_run(run_dir, PredictOptions(prompts=prompts, probabilities=True))
    a, b = base.predict_volume(volume), swapped.predict_volume(volume)
    assert b.names == list(prompts) and a.labels.shape == b.labels.shape
    assert a.probabilities is not None and b.probabilities is not None
    assert np.abs(a.probabilities - b.probabilities).max() > 1e-3  # the prompts change what is segmented
    with pytest.raises(Exception, match="exactly 4 prompts"):
        Predictor.from_run(run_dir, PredictOptions(prompts=("pulmonary vein",)))


def test_missing_run_is_one_clear_error(tiny_benchmark: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    image = Manifest.load(tiny_benchmark).cases[0].image
    assert main(["predict", "-i", str(image), "-o", str(tmp_path / "x.nii.gz"), "-m", str(tmp_path / "nope")]) == 1
    assert "run folder not found" in capsys.readouterr().err
    assert not (tmp_path / "x.nii.gz").exists()
