"""`medvlseg phantom` / write_benchmark: files, manifest, splits, half labels, orientations, determinism."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.data.phantom import generate_case, get_preset
from medvlseg.data.phantom.benchmark import annotate, plan_cases
from medvlseg.io import Manifest, read_image


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom")
    assert main(["phantom", "--out", str(out), "--preset", "tiny", "--seed", "3", "--preview"]) == 0
    return out, json.loads((out / "dataset.json").read_text(encoding="utf-8"))


def _canonical(path):
    img = nib.as_closest_canonical(nib.load(str(path)))
    return np.asarray(img.dataobj), img.affine


def test_manifest_layout_and_splits(bench):
    out, m = bench
    cfg = get_preset("tiny")
    assert m["labels"] == {"0": "background", "1": "pulmonary artery", "2": "pulmonary vein"}
    assert m["modality"] == "CT"
    assert [len(m[s]) for s in ("training", "validation", "test")] == [cfg.n_train, cfg.n_val, cfg.n_test]
    assert all(e["annotated"] == "both" for e in m["validation"] + m["test"])
    ann = [e["annotated"] for e in m["training"]]
    assert ann.count("both") == cfg.n_train_full and set(ann) - {"both"} <= {"left", "right"}
    for split in ("training", "validation", "test"):
        for e in m[split]:
            assert (out / e["image"]).is_file() and (out / e["label"]).is_file()
            assert isinstance(e["meta"]["contrast"], bool)
    assert (out / "previews" / "case_000.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = Manifest.load(out / "dataset.json")
    assert len(loaded.cases) == cfg.n_train + cfg.n_val + cfg.n_test
    assert all(c.image.is_file() and c.label is not None and c.label.is_file() for c in loaded.cases)


def test_files_match_generate_case_in_canonical_space(bench):
    out, m = bench
    plans = {p.name: p for p in plan_cases(get_preset("tiny"), 3)}
    entry = m["training"][0]
    plan = plans[entry["case"]]
    case = generate_case(get_preset("tiny"), plan.seed, contrast=plan.contrast)
    image = read_image(out / entry["image"])
    label = read_image(out / entry["label"])
    np.testing.assert_array_equal(image.array, case.image)
    assert image.array.dtype == np.int16 and label.array.dtype == np.uint8
    np.testing.assert_allclose(image.affine, case.affine, atol=1e-4)
    np.testing.assert_array_equal(label.array, annotate(case, entry["annotated"]))
    codes = "".join(nib.aff2axcodes(nib.load(str(out / entry["image"])).affine))
    assert codes == entry["meta"]["orientation"]


def test_half_labelled_case_has_vessels_on_one_side_only(bench):
    out, m = bench
    half = [e for e in m["training"] if e["annotated"] != "both"]
    assert half, "tiny preset must contain half-labelled training cases"
    for e in half:
        label, affine = _canonical(out / e["label"])
        lung, _ = _canonical(out / e["meta"]["lung_mask"])
        keep = 1 if e["annotated"] == "left" else 2
        in_lung = lung[label > 0]
        assert (in_lung[in_lung > 0] == keep).all() and (in_lung == keep).sum() > 20
        xs = affine[0, 0] * np.nonzero(label)[0] + affine[0, 3]  # world x, mm: left is negative
        assert xs.mean() < 0 if keep == 1 else xs.mean() > 0


def test_orientations_vary_and_contrast_is_a_minority():
    plans = plan_cases(get_preset("small"), 0)
    for split in ("training", "validation", "test"):
        in_split = [p for p in plans if p.split == split]
        assert sum(p.contrast for p in in_split) <= len(in_split) / 2, split
    assert any(p.contrast for p in plans)
    orients = {generate_case(get_preset("tiny"), p.seed).meta["orientation"] for p in plans[:8]}
    assert len(orients) >= 2


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert main(["phantom", "--out", str(out), "--preset", "tiny", "--seed", "9", "--cases", "2"]) == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) >= 7
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_bad_output_path_is_one_line_error(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["phantom", "--out", str(target), "--preset", "tiny"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "file.txt" in err[0] and "not a folder" in err[0]
