"""`medvlseg validate`: one clear line per broken case (file + problem), a summary line, exit ≠ 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.io import Volume, write_image
from medvlseg.io.validate import values_outside

SHAPE = (32, 36, 40)


def _affine(spacing: float = 1.0, shift: float = 0.0) -> np.ndarray:
    aff = np.diag([spacing, spacing, spacing, 1.0])
    aff[:3, 3] = [-16.0 + shift, -18.0, -20.0]
    return aff


def _pair(root: Path, name: str, image: np.ndarray, label: np.ndarray | None, lab_affine: np.ndarray | None = None,
          spacing: float = 1.0) -> dict:
    """Write images/<name>.nii.gz (LPS) and labels/<name>.nii.gz; return the manifest entry."""
    vol = Volume.from_canonical(image, _affine(spacing), "LPS")
    write_image(root / f"images/{name}.nii.gz", image, like=vol)
    entry = {"case": name, "image": f"images/{name}.nii.gz"}
    if label is not None:
        write_image(root / f"labels/{name}.nii.gz", label,
                    affine=_affine(spacing) if lab_affine is None else lab_affine, orientation="RAS")
        entry["label"] = f"labels/{name}.nii.gz"
    return entry


@pytest.fixture
def dataset(tmp_path) -> Path:
    """A manifest with one good case and one case per kind of problem (all 32x36x40 voxels)."""
    rng = np.random.default_rng(0)
    img = rng.integers(-1000, 400, size=SHAPE).astype(np.int16)
    lab = np.zeros(SHAPE, np.uint8)
    lab[10:20, 10:20, 10:20] = 1
    lab[20:25, 5:9, 3:30] = 2
    entries = [_pair(tmp_path, "case_0", img, lab)]
    entries.append(_pair(tmp_path, "case_1", img, lab))  # image truncated below
    data = (tmp_path / "images/case_1.nii.gz").read_bytes()
    (tmp_path / "images/case_1.nii.gz").write_bytes(data[: len(data) // 3])
    nib.save(nib.Nifti1Image(np.zeros(SHAPE + (2,), np.int16), _affine()), tmp_path / "images/case_2.nii.gz")
    entries.append({"case": "case_2", "image": "images/case_2.nii.gz"})  # 4-D image
    nan_img = img.astype(np.float32)
    nan_img[0, 0, :5] = np.nan
    entries.append(_pair(tmp_path, "case_3", nan_img, lab))
    bad_lab = lab.copy()
    bad_lab[0, 0, 0] = 7
    entries.append(_pair(tmp_path, "case_4", img, bad_lab))
    entries.append(_pair(tmp_path, "case_5", img, lab[:, :, :-2]))  # shape mismatch
    entries.append(_pair(tmp_path, "case_6", img, lab, lab_affine=_affine(shift=0.5)))  # affine mismatch
    entries.append({"case": "case_7", "image": "images/case_0.nii.gz", "label": "labels/missing.nii.gz"})
    entries.append(_pair(tmp_path, "case_8", img, None, spacing=12.0))  # implausible spacing
    manifest = {"name": "broken", "training": entries[:5], "validation": entries[5:7], "test": entries[7:]}
    (tmp_path / "dataset.json").write_text(json.dumps(manifest))
    return tmp_path / "dataset.json"


def test_every_problem_reported_once_with_file_and_reason(dataset, capsys):
    code = main(["validate", str(dataset)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    expected = [
        r"images/case_1\.nii\.gz: cannot read image: ",
        r"images/case_2\.nii\.gz: expected a 3-D image, got shape \(32, 36, 40, 2\)",
        r"images/case_3\.nii\.gz: 5 non-finite voxel\(s\) \(NaN/inf\)",
        r"labels/case_4\.nii\.gz: label value 7 not in \{0,1,2\}",
        r"labels/case_5\.nii\.gz: label shape \(32, 36, 38\) \(RAS\) does not match image shape \(32, 36, 40\) \(LPS\)",
        r"labels/case_6\.nii\.gz: label affine differs from the image affine by 0\.5 mm",
        r"labels/missing\.nii\.gz: file not found",
        r"images/case_8\.nii\.gz: implausible spacing \(12\.0, 12\.0, 12\.0\) mm",
    ]
    assert len(lines) == len(expected), err
    for pattern in expected:
        assert sum(bool(re.match(pattern, ln)) for ln in lines) == 1, (pattern, err)
    assert code != 0
    assert out.strip().splitlines()[-1].startswith("validate: 8 problem(s) in 8 of 9 case(s)")


def test_clean_dataset_passes(tmp_path, capsys):
    lab = np.zeros(SHAPE, np.uint8)
    lab[3:6, 3:6, 3:6] = 2
    entry = _pair(tmp_path, "ok", np.full(SHAPE, -500, np.int16), lab)
    (tmp_path / "dataset.json").write_text(json.dumps({"training": [entry], "test": [
        {"case": "unlabelled", "image": entry["image"]}]}))
    assert main(["validate", str(tmp_path / "dataset.json")]) == 0
    out, err = capsys.readouterr()
    assert "2 case(s) OK" in out and err == ""
    # a stricter label set turns the same data into a failure
    assert main(["validate", str(tmp_path / "dataset.json"), "--labels", "0", "1"]) == 1
    assert "labels/ok.nii.gz: label value 2 not in {0,1}" in capsys.readouterr().err


def test_malformed_manifest_is_one_error_line(tmp_path, capsys):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"training": [{"case": "a", "label": "x.nii.gz"}]}))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"medvlseg validate: error: {path}: training[0] ('a'): 'image' must be a non-empty path string, "
                   "got None"]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.float32, bool])
def test_values_outside_matches_numpy_unique(dtype):
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 3 if dtype is not bool else 2, size=(20, 21, 22)).astype(dtype)
    assert values_outside(arr, (0, 1, 2)) == []
    assert values_outside(arr, (0,)) == [v.item() for v in np.unique(arr) if v != 0]
    if dtype is not bool:
        arr.flat[5] = 9
        arr.flat[7] = 4
        assert values_outside(arr, (0, 1, 2)) == [4, 9]
        assert values_outside(arr, (0, 2, 4, 9)) == [1]  # gap in the allowed set: min/max cannot decide
    assert values_outside(np.array([-3, 0, 300], dtype=np.int16), (0, 1, 2)) == [-3, 300]
    assert values_outside(np.array([0.0, 1.5, np.nan]), (0, 1, 2))[0] == 1.5


def test_phantom_benchmark_validates_clean(tmp_path, capsys):
    """`medvlseg phantom` output (random orientations, half labels) passes `medvlseg validate`."""
    assert main(["phantom", "--out", str(tmp_path / "ph"), "--preset", "tiny", "--cases", "3", "--no-preview"]) == 0
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "ph" / "dataset.json")]) == 0
    out, err = capsys.readouterr()
    assert "3 case(s) OK" in out and err == ""
