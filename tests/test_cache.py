"""The preprocessed cache: layout, reuse without recompute, stale and corrupted cases, failures, CLI."""

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.data.cache import build_cache, list_cases, load_case, load_config
from medvlseg.data.preprocess import PreprocessConfig
from medvlseg.data.synthetic import synthetic_chest

CONFIG = PreprocessConfig(sigmas_mm=(2.0,), block_size=32)


def _save(path: Path, array: np.ndarray, spacing, lps: bool = False) -> None:
    affine = np.diag([*spacing, 1.0])
    if lps:  # same anatomy stored in L-P-S voxel order
        array = array[::-1, ::-1].copy()
        affine = affine @ np.array([[-1, 0, 0, array.shape[0] - 1], [0, -1, 0, array.shape[1] - 1],
                                    [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, affine), str(path))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Manifest with a full case (RAS), a left-only case (LPS file) and a validation case."""
    entries = {"training": [], "validation": []}
    for i, (split, annotated, lps) in enumerate([("training", "both", False), ("training", "left", True),
                                                 ("validation", "both", False)]):
        chest = synthetic_chest(shape=(40, 40, 32), spacing=(2.2, 2.2, 2.5), seed=10 + i)
        label = chest.label.copy()
        if annotated == "left":
            label[chest.hu.shape[0] // 2:] = 0
        _save(tmp_path / f"images/c{i}.nii.gz", chest.hu, chest.spacing, lps)
        _save(tmp_path / f"labels/c{i}.nii.gz", label, chest.spacing, lps)
        entries[split].append({"case": f"c{i}", "image": f"images/c{i}.nii.gz", "label": f"labels/c{i}.nii.gz",
                               "annotated": annotated})
    manifest = tmp_path / "dataset.json"
    manifest.write_text(json.dumps({"name": "t", "labels": {"0": "bg", "1": "a", "2": "v"}, **entries}))
    return manifest


def _mtimes(cache: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in cache.rglob("*.npy")}


def test_layout_and_load_case(dataset: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report = build_cache(dataset, cache, CONFIG, progress=False)
    assert sorted(report.built) == ["c0", "c1", "c2"] and not report.failed
    assert list_cases(cache) == ["c0", "c1", "c2"] and list_cases(cache, "validation") == ["c2"]
    assert load_config(cache) == CONFIG
    case = load_case(cache, "c1")
    assert isinstance(case.image, np.memmap) and case.image.dtype == np.float32 and case.image.shape[0] == 2
    assert case.label.dtype == np.uint8 and case.label.shape == case.image.shape[1:] == case.lung.shape
    assert 0.0 <= case.image.min() and case.image.max() <= 1.0
    np.testing.assert_array_equal(case.annotated, [True, True, False, False])
    assert set(np.unique(case.label)) == {0, 1, 2}  # left-only labels → left classes only
    full = load_case(cache, "c0")
    assert set(np.unique(full.label)) == {0, 1, 2, 3, 4} and full.annotated.all()
    # the LPS-stored case is canonical in the cache: left lung (1) at low axis-0 indices
    xs = [np.argwhere(np.asarray(case.lung) == k)[:, 0].mean() for k in (1, 2)]
    assert xs[0] < xs[1]
    assert case.split == "training" and case.spacing == pytest.approx((2.2, 2.2, 2.5))


def test_second_run_reuses_and_corrupt_or_stale_cases_rebuild(dataset: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_cache(dataset, cache, CONFIG, progress=False)
    before = _mtimes(cache)
    report = build_cache(dataset, cache, CONFIG, progress=False)
    assert report.built == [] and sorted(report.skipped) == ["c0", "c1", "c2"]
    assert _mtimes(cache) == before
    img = cache / "c0" / "image.npy"
    with open(img, "r+b") as f:  # flip bytes inside the array data, same size
        f.seek(-64, os.SEEK_END)
        f.write(b"\xff" * 16)
    label_file = dataset.parent / "labels/c2.nii.gz"
    os.utime(label_file, ns=(label_file.stat().st_atime_ns, label_file.stat().st_mtime_ns + 10**9))
    report = build_cache(dataset, cache, CONFIG, progress=False)
    assert sorted(report.built) == ["c0", "c2"] and report.skipped == ["c1"]
    np.testing.assert_array_less(-1e-6, load_case(cache, "c0").image)  # rebuilt data is sane again
    changed = build_cache(dataset, cache, PreprocessConfig(sigmas_mm=(1.0,), block_size=32), progress=False)
    assert sorted(changed.built) == ["c0", "c1", "c2"]  # a new config invalidates every case


def test_bad_case_is_skipped_and_cli_fails_listing_it(dataset: Path, tmp_path: Path, capsys) -> None:
    (dataset.parent / "images/c1.nii.gz").write_bytes(b"not a nifti file")
    cache = tmp_path / "cache"
    rc = main(["preprocess", str(dataset), "--out", str(cache), "--workers", "2", "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "error: c1: " in err and "error: c0: " not in err and "not a gzip" in err
    assert list_cases(cache) == ["c0", "c2"]
    index = json.loads((cache / "cache.json").read_text(encoding="utf-8"))
    assert [f["case"] for f in index["failures"]] == ["c1"]


def test_cli_config_file_and_errors(dataset: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "pre.yaml"
    cfg.write_text("preprocess:\n  tubularity: false\n  window: [-1000, 400]\n")
    cache = tmp_path / "cache"
    assert main(["preprocess", str(dataset), "--out", str(cache), "--config", str(cfg), "--no-progress"]) == 0
    assert load_case(cache, "c0").image.shape[0] == 1
    assert load_config(cache).window == (-1000.0, 400.0)
    cfg.write_text("sigmas_mm: [-1]\n")
    assert main(["preprocess", str(dataset), "--out", str(cache), "--config", str(cfg)]) == 1
    assert "sigmas_mm" in capsys.readouterr().err
    assert main(["preprocess", str(tmp_path / "missing.json"), "--out", str(cache)]) == 1
