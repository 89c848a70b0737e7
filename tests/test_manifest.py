"""Manifest: Decathlon-style JSON, paths relative to the manifest, clear InputError for malformed entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medvlseg.errors import InputError
from medvlseg.io import Case, Manifest


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


GOOD = {
    "name": "phantom-small", "description": "test", "version": 1, "modality": "CT",
    "labels": {"0": "background", "1": "pulmonary artery", "2": "pulmonary vein"},
    "training": [
        {"case": "case_000", "image": "images/case_000.nii.gz", "label": "labels/case_000.nii.gz",
         "annotated": "both", "meta": {"contrast": False}},
        {"case": "case_001", "image": "images/case_001.nii.gz", "label": "labels/case_001.nii.gz",
         "annotated": "left"},
    ],
    "validation": [{"image": "images/case_002.nrrd", "label": "labels/case_002.nrrd"}],
    "test": [{"case": "case_003", "image": "images/case_003.nii.gz"}],
    "reference": "MSD-style",
}


def test_load_resolves_paths_relative_to_manifest(tmp_path):
    m = Manifest.load(_write(tmp_path / "data" / "dataset.json", GOOD))
    assert [c.name for c in m.cases] == ["case_000", "case_001", "case_002", "case_003"]
    assert [c.split for c in m.cases] == ["training", "training", "validation", "test"]
    first = m.cases[0]
    assert first.image == (tmp_path / "data" / "images/case_000.nii.gz").absolute()
    assert first.label == (tmp_path / "data" / "labels/case_000.nii.gz").absolute()
    assert first.meta == {"contrast": False} and m.cases[1].annotated == "left"
    assert m.cases[3].label is None and m.cases[3].annotated == "both"
    assert [c.name for c in m.split("training")] == ["case_000", "case_001"]
    assert m.case("case_002").split == "validation"
    assert m.name == "phantom-small" and m.labels["1"] == "pulmonary artery"
    with pytest.raises(ValueError):
        m.split("train")


def test_save_round_trip_and_relocation(tmp_path):
    m = Manifest.load(_write(tmp_path / "a" / "dataset.json", GOOD))
    m.save(tmp_path / "a" / "copy.json")
    saved = json.loads((tmp_path / "a" / "copy.json").read_text(encoding="utf-8"))
    assert saved["training"][0]["image"] == "images/case_000.nii.gz"
    assert saved["validation"][0]["case"] == "case_002"
    assert saved["reference"] == "MSD-style"
    # moved to another folder: relative paths still point at the same files
    m.save(tmp_path / "b" / "sub" / "moved.json")
    with pytest.raises(InputError, match="leaves the dataset folder"):
        Manifest.load(tmp_path / "b" / "sub" / "moved.json")  # '../' paths need an explicit opt-in
    moved = Manifest.load(tmp_path / "b" / "sub" / "moved.json", allow_outside=True)
    assert [c.image.resolve() for c in moved.cases] == [c.image.resolve() for c in m.cases]
    assert json.loads((tmp_path / "b" / "sub" / "moved.json").read_text(encoding="utf-8"))["test"][0]["image"] == \
        "../../a/images/case_003.nii.gz"


def test_build_in_code_and_save(tmp_path):
    m = Manifest(name="x", path=tmp_path / "m.json")
    m.cases.append(Case("c1", "test", tmp_path / "img" / "c1.mha"))
    m.save()
    assert Manifest.load(tmp_path / "m.json").cases[0].image == tmp_path / "img" / "c1.mha"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["training"][1].pop("image"), r"training\[1\] \('case_001'\): 'image' must be"),
    (lambda d: d["training"][0].update(annotated="top"),
     r"training\[0\] \('case_000'\): 'annotated' must be one of"),
    (lambda d: d["validation"][0].update(meta=[1]), r"validation\[0\]: 'meta' must be a JSON object"),
    (lambda d: d["test"].append(dict(d["training"][0])),
     r"test\[1\]: duplicate case name 'case_000' \(already in training\)"),
    (lambda d: d["test"].append("images/x.nii.gz"), r"test\[1\]: a case must be a JSON object"),
    (lambda d: d["training"][0].update(lable="x"), r"training\[0\] \('case_000'\): unknown key\(s\) lable"),
    (lambda d: d["test"][0].update(annotated="left"), r"test\[0\] \('case_003'\): 'annotated' is 'left' but"),
    (lambda d: d.update(training={"a": 1}), r"'training' must be a list"),
    (lambda d: d.update(version="1"), r"'version' must be an integer, got '1'"),
])
def test_malformed_entries_name_manifest_and_entry(tmp_path, mutate, message):
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    path = _write(tmp_path / "dataset.json", data)
    with pytest.raises(InputError, match=message) as info:
        Manifest.load(path)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_unreadable_manifests(tmp_path):
    with pytest.raises(InputError, match="manifest not found"):
        Manifest.load(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"training": [')
    with pytest.raises(InputError, match="cannot read manifest"):
        Manifest.load(broken)
    with pytest.raises(InputError, match="must be a JSON object"):
        Manifest.load(_write(tmp_path / "list.json", [1, 2]))
