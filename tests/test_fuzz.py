"""The fuzz table (issue 18): ordinary and hostile inputs across predict, mesh, validate, preprocess, train and
export. Each row states its outcome: a result checked against the clean input's result (probability maps on
the same canonical grid), or exit ≠ 0 with exactly one error line naming the file and the problem, no
traceback, no partial file, inputs untouched. One tiny model (conftest.tiny_run) serves every row.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import fuzz_inputs as fz
from medvlseg.cli import main
from medvlseg.io import read_image

FAST = ["--no-progress", "--overlap", "0.25", "--probabilities"]


@dataclass
class Env:
    """Shared inputs: the clean CT, the tiny run, the clean CT's probabilities (canonical) and a manifest."""

    ct: Path
    run: Path
    prob: np.ndarray
    benchmark: Path


@pytest.fixture(scope="module")
def env(tiny_run: Path, tiny_benchmark: Path, tmp_path_factory: pytest.TempPathFactory) -> Env:
    """The clean CT (the tiny benchmark's test case, RAS NIfTI) and its probabilities from the tiny run."""
    from medvlseg.io import Manifest

    folder = tmp_path_factory.mktemp("fuzz_env")
    vol = read_image(Manifest.load(tiny_benchmark).split("test")[0].image)
    ct = fz.save_nifti(folder / "clean.nii.gz", np.asarray(vol.array, dtype=np.int16), vol.affine)
    assert main(["predict", "-i", str(ct), "-o", str(folder / "ref.nii.gz"), "-m", str(tiny_run), *FAST]) == 0
    prob = np.asarray(read_image(folder / "ref_probabilities.nii.gz", require_3d=False).array)
    return Env(ct, tiny_run, prob, tiny_benchmark)


def predict(env: Env, inp: Path | str, out: Path | str, *extra: str, run: Path | None = None) -> list[str]:
    """argv of a predict run with the tiny model (or `run`)."""
    return ["predict", "-i", str(inp), "-o", str(out), "-m", str(run or env.run), *FAST, *extra]


def same_as_clean(env: Env, d: Path, atol: float = 0.02) -> None:
    """The row's probabilities equal the clean input's (same canonical grid), label map in the input's geometry."""
    prob = np.asarray(read_image(d / "out" / "pred_probabilities.nii.gz", require_3d=False).array)
    assert prob.shape == env.prob.shape
    assert float(np.abs(prob - env.prob).max()) <= atol


def labels_like_input(inp: Path) -> Callable[[Env, Path], None]:
    """Check: the label map has exactly the input's shape and affine."""
    def check(env: Env, d: Path) -> None:
        a, b = read_image(d / "out" / "pred.nii.gz"), read_image(inp if inp.is_absolute() else d / inp)
        assert a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-4)
    return check


@dataclass
class Row:
    """One fuzz case: argv builder, expected outcome ("ok" / "error" / "batch"), checks."""

    id: str
    build: Callable[[Env, Path], list[str]]
    expect: str = "ok"
    named: str = ""  # error rows: text the error line must contain (a file name)
    problem: str = ""  # error rows: regex the error line must match
    check: Callable[[Env, Path], None] | None = None  # ok rows: extra assertion
    warns: str = ""  # regex a warning must match (ok rows)


def _nan(a: np.ndarray) -> None:
    a[20, 20, 20] = np.nan


def _corner_nan(a: np.ndarray) -> None:
    a[0, 0, 0] = np.nan


def _pinf(a: np.ndarray) -> None:
    a[5, 5, 5] = np.inf


def _ninf(a: np.ndarray) -> None:
    a[5, 5, 5] = -np.inf


def _band(a: np.ndarray) -> None:
    a[:, :, 10:12] = -1e6


def _all_nan(a: np.ndarray) -> None:
    a[:] = np.nan


def _dicom(env: Env, d: Path, name: str = "dcm") -> list[Path]:
    return fz.dicom_copy(env.ct, d / name)


def _corrupt_run(env: Env, d: Path, config_text: str | None = None, junk_weights: bool = False) -> Path:
    run = d / "run"
    shutil.copytree(env.run, run)
    if config_text is not None:
        cfg = (run / "config.yaml").read_text(encoding="utf-8")
        (run / "config.yaml").write_text(re.sub(r"(?m)^patch_size:.*$", config_text, cfg), encoding="utf-8")
    if junk_weights:
        (run / "best.safetensors").write_bytes(b"\x00" * 64)
    return run


def _two_in_folder(env: Env, d: Path) -> list[str]:
    (d / "in").mkdir()
    shutil.copy(env.ct, d / "in" / "good.nii.gz")
    fz.with_values(env.ct, d / "in" / "bad.nii.gz", _nan)
    return predict(env, d / "in", d / "out")


def _manifest_case(env: Env, d: Path, **case: str) -> Path:
    shutil.copy(env.ct, d / "img.nii.gz")
    return fz.manifest(d, [{"image": "img.nii.gz", **case}])


def _train(env: Env, d: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(env.benchmark), "--out", str(d / "out" / "run"), "--preset", "lacaf", "--light",
            "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "1", "--num-workers", "0",
            "--no-progress", *extra]


def _seg_row(env: Env, d: Path) -> list[str]:
    files = _dicom(env, d)
    fz.strip_tags(files, ("PatientBirthDate", "PatientSex", "StudyID", "AccessionNumber"))
    return predict(env, d / "dcm", d / "out" / "pred.nii.gz", "--dicom-seg")


def _seg_check(env: Env, d: Path) -> None:
    same_as_clean(env, d)
    assert (d / "out" / "pred_seg.dcm").is_file()


def _two_series(env: Env, d: Path) -> list[str]:
    """The clean series plus a smaller second series (other UIDs) in the same folder."""
    import SimpleITK as sitk  # noqa: F401  (write_dicom_series needs it)
    from medvlseg.io.dicom import write_dicom_series

    _dicom(env, d)
    small = write_dicom_series(d / "other", np.full((8, 8, 4), -1000, np.int16), (1.0, 1.0, 1.0), (0, 0, 0))
    for f in small:
        shutil.move(f, d / "dcm" / f"other_{f.name}")
    return predict(env, d / "dcm", d / "out" / "pred.nii.gz")


def _no_best(env: Env, d: Path) -> list[str]:
    run = _corrupt_run(env, d)
    for f in run.glob("best.*"):
        f.unlink()
    return predict(env, env.ct, d / "out" / "pred.nii.gz", run=run)


def _existing(env: Env, d: Path) -> list[str]:
    (d / "out").mkdir()
    (d / "out" / "pred.nii.gz").write_bytes(b"keep")
    return predict(env, env.ct, d / "out" / "pred.nii.gz")


def _skipped(env: Env, d: Path) -> None:
    assert (d / "out" / "pred.nii.gz").read_bytes() == b"keep"


def _batch_check(env: Env, d: Path) -> None:
    assert (d / "out" / "good.nii.gz").is_file() and not (d / "out" / "bad.nii.gz").exists()


def _mesh_ok(env: Env, d: Path) -> list[str]:
    labels = np.zeros((24, 24, 24), dtype=np.uint8)
    labels[6:14, 6:14, 6:18] = 1
    labels[15:20, 8:16, 4:20] = 2
    fz.save_nifti(d / "labels.nii.gz", labels, np.diag([1.5, 1.5, 2.0, 1.0]))
    return ["mesh", str(d / "labels.nii.gz"), "-o", str(d / "out"), "--mesh-format", "stl"]


def _mesh_check(env: Env, d: Path) -> None:
    assert len(list((d / "out").glob("*.stl"))) == 2


ROWS = [
    # --- inputs that must give the clean result ---
    Row("clean", lambda e, d: predict(e, e.ct, d / "out" / "pred.nii.gz"), check=same_as_clean),
    Row("lps-order", lambda e, d: predict(e, fz.lps_copy(e.ct, d / "lps.nii.gz"), d / "out" / "pred.nii.gz"),
        check=same_as_clean),
    Row("nrrd", lambda e, d: predict(e, fz.itk_copy(e.ct, d / "ct.nrrd"), d / "out" / "pred.nii.gz"),
        check=same_as_clean),
    Row("mha", lambda e, d: predict(e, fz.itk_copy(e.ct, d / "ct.mha"), d / "out" / "pred.nii.gz"),
        check=same_as_clean),
    Row("uint16-intercept", lambda e, d: predict(e, fz.scaled_copy(e.ct, d / "s.nii.gz"), d / "out" / "pred.nii.gz"),
        check=same_as_clean),
    Row("4d-singleton", lambda e, d: predict(e, fz.reshaped(e.ct, d / "x.nii.gz", lambda a: a[..., None]),
                                             d / "out" / "pred.nii.gz"), check=same_as_clean),
    Row("float32", lambda e, d: predict(e, fz.with_values(e.ct, d / "f.nii.gz", lambda a: None),
                                        d / "out" / "pred.nii.gz"), check=same_as_clean),
    Row("dicom", lambda e, d: [_dicom(e, d)] and predict(e, d / "dcm", d / "out" / "pred.nii.gz"),
        check=same_as_clean),
    Row("dicom-junk-file", lambda e, d: [_dicom(e, d), (d / "dcm" / "notes.txt").write_text("x")]
        and predict(e, d / "dcm", d / "out" / "pred.nii.gz"), check=same_as_clean),
    Row("dicom-seg-type2-missing", _seg_row, check=_seg_check),
    Row("dicom-two-series", _two_series, check=same_as_clean, warns="holds 2 DICOM series"),
    Row("run-without-best", _no_best, warns="no best checkpoint.*using last"),
    Row("nan-corner-filled", lambda e, d: predict(e, fz.with_values(e.ct, d / "n.nii.gz", _corner_nan),
                                                  d / "out" / "pred.nii.gz", "--fill-nonfinite"),
        check=lambda e, d: same_as_clean(e, d, atol=0.05), warns="NaN or infinite|NaN/infinite"),
    Row("no-qform-sform", lambda e, d: predict(e, fz.save_nifti(d / "q.nii.gz", np.asarray(nib.load(str(e.ct)).dataobj),
                                                                nib.load(str(e.ct)).affine, (0, 0)),
                                               d / "out" / "pred.nii.gz"), warns="neither qform nor sform"),
    Row("oblique", lambda e, d: predict(e, fz.oblique(e.ct, d / "o.nii.gz"), d / "out" / "pred.nii.gz"),
        check=labels_like_input(Path("o.nii.gz"))),
    Row("dicom-tilt-20deg", lambda e, d: [fz.tilt_series(_dicom(e, d), 20.0, 2.5)]
        and predict(e, d / "dcm", d / "out" / "pred.nii.gz"), warns="gantry tilt"),
    Row("dicom-gap-allowed", lambda e, d: [os.remove(_dicom(e, d)[20])]
        and predict(e, d / "dcm", d / "out" / "pred.nii.gz", "--allow-gaps"), warns="gap"),
    Row("existing-output-skipped", _existing, check=_skipped),
    Row("one-lung-crop", lambda e, d: predict(e, fz.save_nifti(d / "half.nii.gz",
                                                               np.asarray(nib.load(str(e.ct)).dataobj)[:26].copy(),
                                                               nib.load(str(e.ct)).affine), d / "out" / "pred.nii.gz"),
        check=labels_like_input(Path("half.nii.gz"))),
    Row("manifest-batch", lambda e, d: predict(e, _manifest_case(e, d), d / "out"),
        check=lambda e, d: (d / "out" / "img.nii.gz").is_file()),
    Row("mesh-labels", _mesh_ok, check=_mesh_check),
    Row("outside-paths-allowed", lambda e, d: ["validate", str(_manifest_case(e, d)), "--allow-outside-paths"]),
    # --- batch: the bad case is reported, the good one written ---
    Row("batch-one-nan", _two_in_folder, "batch", "bad", "NaN", check=_batch_check),
    # --- voxel values ---
    Row("nan-voxel", lambda e, d: predict(e, fz.with_values(e.ct, d / "n.nii.gz", _nan), d / "out" / "p.nii.gz"),
        "error", "n.nii.gz", "NaN or infinite.*--fill-nonfinite"),
    Row("nan-corner", lambda e, d: predict(e, fz.with_values(e.ct, d / "n.nii.gz", _corner_nan), d / "out" / "p.nii.gz"),
        "error", "n.nii.gz", "1 voxel"),
    Row("plus-inf", lambda e, d: predict(e, fz.with_values(e.ct, d / "i.nii.gz", _pinf), d / "out" / "p.nii.gz"),
        "error", "i.nii.gz", "infinite"),
    Row("minus-inf", lambda e, d: predict(e, fz.with_values(e.ct, d / "i.nii.gz", _ninf), d / "out" / "p.nii.gz"),
        "error", "i.nii.gz", "infinite"),
    Row("minus-1e6-band", lambda e, d: predict(e, fz.with_values(e.ct, d / "b.nii.gz", _band), d / "out" / "p.nii.gz"),
        "error", "b.nii.gz", "below -10000 HU"),
    Row("all-nan-filled", lambda e, d: predict(e, fz.with_values(e.ct, d / "a.nii.gz", _all_nan), d / "out" / "p.nii.gz",
                                               "--fill-nonfinite"), "error", "a.nii.gz", "every voxel"),
    # --- shapes, headers, files ---
    Row("2d-image", lambda e, d: predict(e, fz.reshaped(e.ct, d / "s.nii.gz", lambda a: a[:, :, 5].copy()),
                                         d / "out" / "p.nii.gz"), "error", "s.nii.gz", "3-D"),
    Row("4d-two-volumes", lambda e, d: predict(e, fz.reshaped(e.ct, d / "s.nii.gz", lambda a: np.stack([a, a], -1)),
                                               d / "out" / "p.nii.gz"), "error", "s.nii.gz", "3-D"),
    Row("one-slice", lambda e, d: predict(e, fz.slab(e.ct, d / "s.nii.gz", 1), d / "out" / "p.nii.gz"),
        "error", "s.nii.gz", "3-D|too few"),
    Row("slab-2", lambda e, d: predict(e, fz.slab(e.ct, d / "s.nii.gz", 2), d / "out" / "p.nii.gz"),
        "error", "s.nii.gz", "too few voxels"),
    Row("slab-5", lambda e, d: predict(e, fz.slab(e.ct, d / "s.nii.gz", 5), d / "out" / "p.nii.gz"),
        "error", "s.nii.gz", "too few voxels"),
    Row("slab-8", lambda e, d: predict(e, fz.slab(e.ct, d / "s.nii.gz", 8), d / "out" / "p.nii.gz"),
        "error", "s.nii.gz", "too few voxels"),
    Row("zero-spacing", lambda e, d: predict(e, fz.zero_spacing(e.ct, d / "z.nii.gz"), d / "out" / "p.nii.gz"),
        "error", "z.nii.gz", "spacing must be positive"),
    Row("truncated-gzip", lambda e, d: predict(e, fz.truncated(e.ct, d / "t.nii.gz"), d / "out" / "p.nii.gz"),
        "error", "t.nii.gz", "cannot read"),
    Row("gzip-not-nifti", lambda e, d: predict(e, fz.gz_text(d / "g.nii.gz", "hello"), d / "out" / "p.nii.gz"),
        "error", "g.nii.gz", "cannot read"),
    Row("png-input", lambda e, d: [(d / "x.png").write_bytes(b"png")] and predict(e, d / "x.png", d / "out" / "p.nii.gz"),
        "error", "x.png", "unsupported file type"),
    Row("missing-input", lambda e, d: predict(e, d / "nope.nii.gz", d / "out" / "p.nii.gz"),
        "error", "nope.nii.gz", "not found"),
    Row("dicom-gap", lambda e, d: [os.remove(_dicom(e, d)[20])] and predict(e, d / "dcm", d / "out" / "p.nii.gz"),
        "error", "dcm", "missing slice.*slice_0019.dcm and slice_0021.dcm"),
    # --- output paths ---
    Row("out-is-input", lambda e, d: [shutil.copy(e.ct, d / "ct.nii.gz")] and predict(e, d / "ct.nii.gz", d / "ct.nii.gz"),
        "error", "ct.nii.gz", "replace the input"),
    Row("out-is-input-overwrite", lambda e, d: [shutil.copy(e.ct, d / "ct.nii.gz")]
        and predict(e, d / "ct.nii.gz", d / "ct.nii.gz", "--overwrite"), "error", "ct.nii.gz", "replace the input"),
    Row("out-is-input-folder", lambda e, d: [(d / "in").mkdir(), shutil.copy(e.ct, d / "in" / "a.nii.gz")]
        and predict(e, d / "in", d / "in"), "error", "in", "input folder"),
    Row("out-png", lambda e, d: predict(e, e.ct, d / "out" / "x.png"), "error", "x.png", "unsupported output extension"),
    Row("out-existing-dir", lambda e, d: [(d / "out" / "dir").mkdir(parents=True)] and predict(e, e.ct, d / "out" / "dir"),
        "error", "dir", "is a folder"),
    Row("out-parent-is-file", lambda e, d: [(d / "f").write_text("x")] and predict(e, e.ct, d / "f" / "p.nii.gz"),
        "error", "p.nii.gz", "is a file, not a folder"),
    Row("out-unwritable", lambda e, d: predict(e, e.ct, "/proc/medvlseg_fuzz.nii.gz"), "error", "/proc", "cannot write"),
    Row("batch-ext-bad", lambda e, d: predict(e, _manifest_case(e, d), d / "out", "--ext", ".png"),
        "error", "out", "--ext"),
    # --- options checked before any work ---
    Row("device-missing-gpu", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--device", "cuda:99"),
        "error", "--device", "not available; available: cpu"),
    Row("device-banana", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--device", "banana"),
        "error", "--device", "unknown --device"),
    Row("mesh-format-xyz", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--meshes", "--mesh-format", "xyz"),
        "error", "--mesh-format", "not supported"),
    Row("dicom-seg-on-nifti", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--dicom-seg"),
        "error", "clean.nii.gz", "DICOM series folder"),
    Row("patch-size-3", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--patch-size", "3"),
        "error", "--patch-size", "not usable"),
    Row("overlap-1.5", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--overlap", "1.5"),
        "error", "", "--overlap"),
    Row("threshold-0", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", "--threshold", "0"),
        "error", "", "--threshold"),
    # --- run folders and checkpoints ---
    Row("run-missing", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz", run=d / "norun"),
        "error", "norun", "not found"),
    Row("run-junk-weights", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz",
                                                 run=_corrupt_run(e, d, junk_weights=True)),
        "error", "best", "checkpoint|safetensors|cannot"),
    Row("run-patch-banana", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz",
                                                 run=_corrupt_run(e, d, "patch_size: banana")),
        "error", "config.yaml", "integer|int"),
    Row("run-patch-minus5", lambda e, d: predict(e, e.ct, d / "out" / "p.nii.gz",
                                                 run=_corrupt_run(e, d, "patch_size: -5")),
        "error", "config.yaml", "not usable|must be ≥ 1"),
    Row("checkpoint-nope", lambda e, d: ["export", str(e.run), "--checkpoint", "nope", "--out", str(d / "out" / "m.onnx")],
        "error", "nope.json", "not found"),
    Row("export-opset-1", lambda e, d: ["export", str(e.run), "--opset", "1", "--out", str(d / "out" / "m.onnx")],
        "error", "--opset", "not supported"),
    # --- mesh ---
    Row("mesh-on-ct", lambda e, d: ["mesh", str(e.ct), "-o", str(d / "out")], "error", "clean.nii.gz", "not a label map"),
    Row("mesh-format-bad", lambda e, d: _mesh_ok(e, d)[:4] + ["--mesh-format", "xyz"], "error", "--mesh-format",
        "not supported"),
    # --- manifests ---
    Row("case-dotdot", lambda e, d: ["validate", str(_manifest_case(e, d, case=".."))], "error", "dataset.json",
        "not a safe file name"),
    Row("case-300-chars", lambda e, d: predict(e, _manifest_case(e, d, case="c" * 300), d / "out"), "error",
        "dataset.json", "not a safe file name"),
    Row("case-slash", lambda e, d: predict(e, _manifest_case(e, d, case="a/b"), d / "out"), "error",
        "dataset.json", "not a safe file name"),
    Row("manifest-absolute-path", lambda e, d: ["validate", str(fz.manifest(d, [{"image": str(e.ct)}]))],
        "error", "dataset.json", "leaves the dataset folder"),
    Row("manifest-etc-passwd", lambda e, d: predict(e, fz.manifest(d, [{"image": "/etc/passwd"}]), d / "out"),
        "error", "dataset.json", "leaves the dataset folder"),
    Row("manifest-dotdot-path", lambda e, d: ["validate", str(fz.manifest(d, [{"image": "../../x.nii.gz"}]))],
        "error", "dataset.json", "leaves the dataset folder"),
    # --- training ---
    Row("train-lr-nan", lambda e, d: _train(e, d, "--lr", "nan"), "error", "--lr", "finite positive"),
    Row("train-lr-negative", lambda e, d: _train(e, d, "--lr", "-1"), "error", "lr", "lr must be > 0|finite positive"),
    Row("train-patch-7", lambda e, d: _train(e, d, "--patch-size", "7"), "error", "--patch-size", "not usable"),
    Row("train-patch-200", lambda e, d: _train(e, d, "--patch-size", "200"), "error", "--patch-size", "not usable"),
    Row("train-device-missing", lambda e, d: _train(e, d, "--device", "cuda:99"), "error", "--device", "not available"),
    Row("preprocess-nan-case", lambda e, d: ["preprocess", str(fz.manifest(d, [
        {"image": fz.with_values(e.ct, d / "n.nii.gz", _nan).name}])), "--out", str(d / "out" / "cache"),
        "--no-progress"], "batch", "n.nii.gz", "NaN"),
]


def _files(folder: Path) -> dict[Path, str]:
    """Content hashes of every file under `folder` (inputs must not change)."""
    return {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fuzz_row(row: Row, env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                  caplog: pytest.LogCaptureFixture) -> None:
    d = tmp_path
    argv = row.build(env, d)
    inputs = {p: h for p, h in _files(d).items() if "out" not in p.relative_to(d).parts}
    code = main(argv)  # an uncaught exception (a traceback for a user) fails the row
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert "Traceback" not in err
    assert {p: h for p, h in _files(d).items() if p in inputs} == inputs  # inputs untouched
    assert not [p for p in d.rglob(".*.tmp*")]  # no temp files left
    if row.expect == "ok":
        assert code == 0 and not errors, err
        if row.check is not None:
            row.check(env, d)
        if row.warns:  # logged once (not once per read of the input)
            assert len([r for r in caplog.records if re.search(row.warns, r.getMessage())]) == 1, caplog.text
        return
    assert code != 0 and len(errors) == 1, err
    assert row.named in errors[0] and re.search(row.problem, errors[0]), errors[0]
    if row.expect == "batch":
        if row.check is not None:
            row.check(env, d)
        return
    out = d / "out"
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]  # no partial output


def test_table_size() -> None:
    assert len(ROWS) >= 50 and len({r.id for r in ROWS}) == len(ROWS)
