"""`medvlseg import-nnunet`: the inverse of the nnU-Net converter (round trip on the tiny benchmark, half-labeled
sides recovered from `ignore`), label remapping by name, bad cases skipped and reported, bad datasets rejected."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.data.nnunet import convert
from medvlseg.io import Manifest, read_image, write_image


@pytest.fixture()
def raw(tiny_benchmark: Path, tmp_path: Path) -> Path:
    """The tiny benchmark as an nnU-Net v2 raw dataset (half-labeled sides = ignore)."""
    return convert(tiny_benchmark, tmp_path / "raw", dataset_id=9, name="Tiny")


def test_round_trip_recovers_cases_labels_and_half_sides(raw: Path, tiny_benchmark: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "imported" / "dataset.json"
    assert main(["import-nnunet", str(raw), "--out", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    original, imported = Manifest.load(tiny_benchmark), Manifest.load(out, allow_outside=True)
    expected = {c.name: c for c in original.cases if c.split in ("training", "test")}
    assert {c.name: c.split for c in imported.cases} == {n: c.split for n, c in expected.items()}
    halves = 0
    for case in imported.split("training"):
        source = expected[case.name]
        assert case.annotated == source.annotated
        halves += case.annotated != "both"
        lab, ref = read_image(case.label), read_image(source.label)
        np.testing.assert_array_equal(lab.array, ref.array)  # ignore → background, vessels untouched
        np.testing.assert_allclose(lab.affine, ref.affine, atol=1e-5)
    assert halves >= 1
    assert all(c.label is None for c in imported.split("test"))


def test_labels_remapped_by_name_and_bad_case_skipped(raw: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    meta = json.loads((raw / "dataset.json").read_text(encoding="utf-8"))
    meta["labels"] = {"background": 0, "pulmonary_vein": 1, "pulmonary_artery": 2, "ignore": 3}  # swapped values
    (raw / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    labels = sorted((raw / "labelsTr").iterdir())
    before = {p.name: np.asarray(read_image(p).array) for p in labels}
    for p in labels:
        vol = read_image(p)
        arr = np.asarray(vol.array).copy()
        arr[before[p.name] == 1], arr[before[p.name] == 2] = 2, 1
        write_image(p, arr, like=vol)
    bad = labels[0]
    vol = read_image(bad)
    write_image(bad, np.where(np.asarray(vol.array) == 1, 7, vol.array), like=vol)  # value 7 is undeclared
    out = tmp_path / "m.json"
    assert main(["import-nnunet", str(raw), "--out", str(out), "--validation", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"skipped: {bad.name[:-7]}" in err and "[7]" in err
    manifest = Manifest.load(out, allow_outside=True)
    assert bad.name[:-7] not in {c.name for c in manifest.cases} and len(manifest.split("validation")) == 1
    for case in manifest.split("training") + manifest.split("validation"):
        arr = np.asarray(read_image(case.label).array)
        ref = before[f"{case.name}.nii.gz"]
        np.testing.assert_array_equal(arr, np.where(ref == 3, 0, ref))  # back to 1 artery, 2 vein
        assert case.label.parent == tmp_path / "labels"


@pytest.mark.parametrize(("labels", "problem"), [
    ({"background": 0, "artery": [1, 2]}, "region-based"),
    ({"background": 0, "liver": 1}, "neither background"),
])
def test_unusable_dataset_json_is_one_clear_error(raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  labels: dict, problem: str) -> None:
    meta = json.loads((raw / "dataset.json").read_text(encoding="utf-8"))
    meta["labels"] = labels
    (raw / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    out = tmp_path / "m.json"
    assert main(["import-nnunet", str(raw), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "dataset.json" in err and problem in err and not out.exists()


def test_ignore_over_both_lungs_is_not_half_labeled(raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    label = sorted((raw / "labelsTr").iterdir())[0]
    vol = read_image(label)
    write_image(label, np.where(np.asarray(vol.array) == 0, 3, vol.array), like=vol)  # everything ignored
    shutil.rmtree(raw / "imagesTs")
    out = tmp_path / "m.json"
    assert main(["import-nnunet", str(raw), "--out", str(out), "--no-progress"]) == 1
    assert "not one unannotated lung" in capsys.readouterr().err
