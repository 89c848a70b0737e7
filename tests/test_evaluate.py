"""Batch evaluation and `medvlseg evaluate`: matching, half labels, missing/bad cases, outputs, 5 classes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from medvlseg.cli import main
from medvlseg.eval.evaluate import GtCase, evaluate, score_case
from medvlseg.io import write_image

SHAPE = (40, 36, 32)
AFFINE = np.diag([0.8, 0.9, 1.5, 1.0])  # canonical RAS+, anisotropic mm


def _label(seed: int, left: bool = True, right: bool = True) -> np.ndarray:
    """3-class label: an artery tube and a vein tube in each lung half (left = low axis-0), seeded jitter."""
    rng = np.random.default_rng(seed)
    lab = np.zeros(SHAPE, np.uint8)
    for x0, on in ((6, left), (26, right)):
        if not on:
            continue
        a, v = x0 + int(rng.integers(0, 3)), x0 + 5 + int(rng.integers(0, 3))
        lab[a:a + 3, 8:12, 3:29] = 1
        lab[v:v + 3, 22:26, 3:29] = 2
    return lab


@pytest.fixture()
def dataset(tmp_path: Path) -> dict[str, Path]:
    """gt/ pred/ folders (LPS-stored NIfTI) + manifest: case_a full, case_b left-only, case_c without prediction."""
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gts = {"case_a": _label(0), "case_b": _label(1, right=False), "case_c": _label(2)}
    preds = {"case_a": _label(0), "case_b": _label(1)}  # case_b pred also segments the unannotated right side
    preds["case_a"][7:10, 8:12, 20:29] = 0  # a partly missed artery
    for name, lab in gts.items():
        write_image(gt_dir / f"{name}.nii.gz", lab, affine=AFFINE, orientation="LPS")
    for name, lab in preds.items():
        write_image(pred_dir / f"{name}.nii.gz", lab, affine=AFFINE, orientation="LPS")
    entries = [{"case": n, "image": f"images/{n}.nii.gz", "label": f"gt/{n}.nii.gz",
                "annotated": "left" if n == "case_b" else "both"} for n in gts]
    manifest = tmp_path / "dataset.json"
    manifest.write_text(json.dumps({"name": "t", "labels": {"0": "background", "1": "pulmonary artery",
                                                            "2": "pulmonary vein"}, "test": entries}))
    return {"gt": gt_dir, "pred": pred_dir, "manifest": manifest, "root": tmp_path}


def test_cli_outputs_and_missing_case(dataset: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    out = dataset["root"] / "eval"
    rc = main(["evaluate", "--pred", str(dataset["pred"]), "--gt", str(dataset["gt"]), "--manifest",
               str(dataset["manifest"]), "--out", str(out), "--no-progress"])
    assert rc == 1  # case_c has no prediction
    assert "case_c" in capsys.readouterr().err
    with open(out / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["case", "class", "dice", "jaccard", "nsd", "hd95", "asd", "cldice", "av_accuracy",
                             "components", "betti0_error", "skeleton_recall"]
    by = {(r["case"], r["class"]): r for r in rows}
    assert len(rows) == 6
    assert float(by["case_a", "vein"]["dice"]) == 1.0 and float(by["case_a", "vein"]["hd95"]) == 0.0
    assert 0.5 < float(by["case_a", "artery"]["dice"]) < 1.0
    assert float(by["case_b", "artery"]["dice"]) == 1.0  # right-side prediction ignored on a left-only case
    assert by["case_c", "artery"]["hd95"] == "inf" and float(by["case_c", "artery"]["dice"]) == 0.0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["missing"] == ["case_c"]
    hd = summary["classes"]["artery"]["hd95"]
    assert hd["excluded"] == 1 and hd["n"] == 2
    assert summary["classes"]["vein"]["dice"]["mean"] == pytest.approx(2 / 3)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| artery |" in report and "case_c: no prediction" in report


def test_half_label_without_manifest_penalises(dataset: dict[str, Path]) -> None:
    res = evaluate(dataset["pred"], dataset["gt"], None)
    row = next(r for r in res.rows if r["case"] == "case_b" and r["class"] == "artery")
    assert row["dice"] < 0.8  # without `annotated`, the right-side prediction counts as false positive


def test_geometry_mismatch_names_pred(dataset: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    bad = dataset["pred"] / "case_c.nii.gz"
    write_image(bad, np.zeros((40, 36, 30), np.uint8), affine=AFFINE)
    res = evaluate(dataset["pred"], dataset["gt"], dataset["manifest"])
    assert "case_c" in res.failed and str(bad) in res.failed["case_c"]
    assert not any(r["case"] == "case_c" for r in res.rows)
    write_image(bad, _label(2), affine=np.diag([0.8, 0.9, 1.6, 1.0]))
    rc = main(["evaluate", "--pred", str(bad), "--gt", str(dataset["gt"] / "case_c.nii.gz"), "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "case_c.nii.gz: affine differs" in err and err.count("\n") == 1


def test_single_file_pair_and_bad_tolerance(dataset: dict[str, Path]) -> None:
    pred, gt = dataset["pred"] / "case_a.nii.gz", dataset["gt"] / "case_a.nii.gz"
    out = dataset["root"] / "single"
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--out", str(out), "--no-progress"]) == 0
    assert (out / "metrics.csv").read_text(encoding="utf-8").count("\n") == 3
    assert main(["evaluate", "--pred", str(pred), "--gt", str(gt), "--nsd-tolerance", "-1"]) == 1


def test_five_classes_from_three_class_gt() -> None:
    gt = _label(3)
    pred5 = gt.copy()
    pred5[20:] = np.where(pred5[20:] > 0, pred5[20:] + 2, 0)  # right half → classes 3, 4
    case = GtCase("x", Path("x.nii.gz"))
    rows = score_case(pred5, gt, case, (0.8, 0.9, 1.5), classes=5)
    assert [r["class"] for r in rows] == ["left_artery", "left_vein", "right_artery", "right_vein"]
    assert all(r["dice"] == 1.0 for r in rows)
    swapped = np.where(pred5 == 1, 3, np.where(pred5 == 3, 1, pred5))  # left/right arteries swapped
    rows = score_case(swapped, gt, case, (0.8, 0.9, 1.5), classes=5)
    assert rows[0]["dice"] == 0.0 and rows[1]["dice"] == 1.0
    left_only = score_case(pred5, gt, GtCase("x", Path("x"), "right"), (0.8, 0.9, 1.5), classes=5)
    assert [r["class"] for r in left_only] == ["right_artery", "right_vein"]


def test_out_of_range_labels_rejected(tmp_path: Path) -> None:
    lab = _label(4)
    write_image(tmp_path / "g" / "k.nii.gz", lab, affine=AFFINE)
    write_image(tmp_path / "p" / "k.nii.gz", np.where(lab > 0, 7, 0).astype(np.uint8), affine=AFFINE)
    res = evaluate(tmp_path / "p", tmp_path / "g")
    assert "values must be in 0..4" in res.failed["k"]
