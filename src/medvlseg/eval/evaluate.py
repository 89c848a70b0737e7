"""Case and batch evaluation of predicted label maps against ground truth, with CSV / JSON / Markdown output.

Cases are matched by case name (`medvlseg.io.case_name`: file name without its image extension). Labels:
- `classes=3`: classes artery (1) and vein (2); maps holding 3–4 are merged by `to_three_class` first.
- `classes=5`: left artery, left vein, right artery, right vein (1–4). A gt with no value above 2 is taken
  as a 3-class file and split into sides (medvlseg.eval.sides); predictions are taken as 5-class as written.
Half-labeled gt (manifest `annotated` "left"/"right"): with 3 classes only voxels on the annotated side
(medvlseg.eval.sides) count, in both pred and gt; with 5 classes only the annotated side's classes are scored.
A gt case with no prediction is reported as missing and scored as an all-background prediction (a miss).
A prediction that cannot be read or whose shape/affine differs from its gt is skipped and reported as failed.
Empty-mask conventions: see medvlseg.eval.metrics. Output files (CSV per case and class, JSON summary with
mean ± std per class, report.md) are written atomically; inf values are written as "inf" and left out of means.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medvlseg.data.label_scheme import FIVE, SCHEMES, THREE, label_scheme
from medvlseg.errors import InputError
from medvlseg.eval.cldice import cldice_from, topology_fractions
from medvlseg.eval.metrics import METRICS, score_masks
from medvlseg.eval.sides import LEFT, RIGHT, side_map
from medvlseg.eval.topology import TOPOLOGY_METRICS, topology_scores

log = logging.getLogger(__name__)

EVAL_METRICS = (*METRICS, *TOPOLOGY_METRICS)
CSV_COLUMNS = ("case", "class", *EVAL_METRICS)
AFFINE_TOL_MM = 1e-3


@dataclass
class GtCase:
    """A ground-truth case: name, label file, annotated side ("both"/"left"/"right"), optional CT image."""

    name: str
    label: Path
    annotated: str = "both"
    image: Path | None = None


@dataclass
class EvalResult:
    """Rows (one per case and class), summary per class, missing case names and failed cases (name → problem)."""

    rows: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every gt case had a readable, matching prediction."""
        return not self.missing and not self.failed


def gt_cases(gt: Path | None, manifest: Path | None, split: str | None = None) -> list[GtCase]:
    """Ground-truth cases from a label folder/file and/or a manifest (`annotated`, CT; optionally one split)."""
    from medvlseg.io import Manifest, case_name, find_images

    info = {}
    if manifest is not None:
        loaded = Manifest.load(manifest)
        info = {c.name: c for c in (loaded.split(split) if split else loaded.cases)}
    if gt is None:
        if manifest is None:
            raise InputError("--gt", "give a ground-truth folder or a manifest")
        return [GtCase(c.name, c.label, c.annotated, c.image) for c in info.values() if c.label is not None]
    files = [gt] if gt.is_file() else find_images(gt)
    if not files:
        raise InputError(gt, "no label images found")
    cases = []
    for path in files:
        name = case_name(path)
        entry = info.get(name)
        if split and entry is None:
            continue
        cases.append(GtCase(name, path, entry.annotated if entry else "both", entry.image if entry else None))
    return cases


def match_predictions(pred: Path, cases: Sequence[GtCase]) -> dict[str, Path | None]:
    """Prediction file (or None) for each gt case name, from a prediction folder or a single file."""
    from medvlseg.io import case_name, find_images

    if not pred.exists():
        raise InputError(pred, "prediction file or folder not found")
    files = [pred] if pred.is_file() else find_images(pred)
    by_name = {case_name(p): p for p in files}
    if pred.is_file() and len(cases) == 1:
        return {cases[0].name: pred}
    return {c.name: by_name.get(c.name) for c in cases}


def check_geometry(pred_path: Path, pred_shape: tuple, pred_affine: np.ndarray, gt_path: Path, gt_shape: tuple,
                   gt_affine: np.ndarray) -> None:
    """Raise InputError naming the prediction when its shape or affine (mm, 1e-3 tolerance) differ from the gt's."""
    if tuple(pred_shape) != tuple(gt_shape):
        raise InputError(pred_path, f"shape {tuple(pred_shape)} differs from ground truth {gt_path} "
                                    f"shape {tuple(gt_shape)}")
    diff = float(np.abs(np.asarray(pred_affine) - np.asarray(gt_affine)).max())
    if diff > AFFINE_TOL_MM:
        raise InputError(pred_path, f"affine differs from ground truth {gt_path} by {diff:.4g} mm")


def _as_labels(array: np.ndarray, path: Path, classes: int) -> np.ndarray:
    """Integer label map with values checked against the class scheme (3-class maps may hold 3–4: merged)."""
    arr = np.asarray(array)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr)):
            raise InputError(path, "label map holds non-integer values")
    arr = arr.astype(np.int16)
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi > 4:
        raise InputError(path, f"label values must be in 0..4, found {lo}..{hi}")
    if classes == THREE.classes and hi > THREE.num_foreground:
        from medvlseg.data.labels import to_three_class

        arr = to_three_class(arr).astype(np.int16)
    return arr


def _prepare(pred: np.ndarray, gt: np.ndarray, case: GtCase, spacing: Sequence[float],
             classes: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Pred/gt label maps ready to score and the labels to score, after half-label masking / side splitting."""
    half = case.annotated in ("left", "right")
    gt_is_3 = int(gt.max(initial=0)) <= THREE.num_foreground
    labels = label_scheme(classes).labels
    if not half and not (classes == FIVE.classes and gt_is_3):
        return pred, gt, labels
    sides = side_map(pred, gt, spacing, case.image)
    if classes == FIVE.classes:
        if gt_is_3:
            gt = np.where(sides == RIGHT, gt + 2 * (gt > 0), gt)
        if half:
            labels = (1, 2) if case.annotated == "left" else (3, 4)
        return pred, gt, labels
    keep = sides == (LEFT if case.annotated == "left" else RIGHT)
    return np.where(keep, pred, 0), np.where(keep, gt, 0), labels


def score_case(pred: np.ndarray, gt: np.ndarray, case: GtCase, spacing: Sequence[float], classes: int = 3,
               tolerance_mm: float = 1.0) -> list[dict]:
    """Rows (case, class, metrics) of one case's canonical label maps; spacing and tolerance in mm."""
    if classes not in SCHEMES:
        raise ValueError(f"classes must be 3 or 5, got {classes}")
    pred, gt, labels = _prepare(pred, gt, case, spacing, classes)
    rows = []
    for label in labels:
        p, g = pred == label, gt == label
        scores = score_masks(p, g, spacing, tolerance_mm, with_cldice=False)
        tprec, tsens = topology_fractions(p, g)  # one skeleton per mask serves clDice and skeleton recall
        scores["cldice"] = cldice_from(tprec, tsens)
        scores.update(topology_scores(pred, gt, label, tsens))
        rows.append({"case": case.name, "class": label_scheme(classes).short_names[label - 1], **scores})
    return rows


def evaluate_case(pred_path: Path | None, case: GtCase, classes: int = 3, tolerance_mm: float = 1.0) -> list[dict]:
    """Read, check and score one case (a missing prediction scores as all background); InputError on bad files."""
    from medvlseg.io import read_image

    gt_vol = read_image(case.label)
    gt = _as_labels(gt_vol.array, case.label, classes)
    if pred_path is None:
        pred = np.zeros_like(gt)
    else:
        pred_vol = read_image(pred_path)
        check_geometry(pred_path, pred_vol.shape, pred_vol.affine, case.label, gt_vol.shape, gt_vol.affine)
        pred = _as_labels(pred_vol.array, pred_path, classes)
    return score_case(pred, gt, case, gt_vol.spacing, classes, tolerance_mm)


def summarize(rows: Sequence[dict], classes: int = 3) -> dict:
    """Per class and metric: mean, std (population), n (finite values) and excluded (inf/NaN values, left out)."""
    summary: dict = {}
    for name in label_scheme(classes).short_names:
        sel = [r for r in rows if r["class"] == name]
        if not sel:
            continue
        per_metric = {}
        for metric in EVAL_METRICS:
            vals = np.array([r[metric] for r in sel], dtype=np.float64)
            finite = vals[np.isfinite(vals)]
            per_metric[metric] = {
                "mean": float(finite.mean()) if finite.size else None,
                "std": float(finite.std()) if finite.size else None,
                "n": int(finite.size), "excluded": int(vals.size - finite.size)}
        summary[name] = per_metric
    return summary


def _fmt(value: float) -> str:
    """CSV text of a metric value: 'inf' for infinities, 6 significant digits otherwise."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "nan" if math.isnan(value) else f"{value:.6g}"


def rows_to_csv(rows: Sequence[dict]) -> str:
    """CSV text: case, class, dice, jaccard, nsd, hd95 (mm), asd (mm), cldice, then the topology metrics."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([r["case"], r["class"], *(_fmt(float(r[m])) for m in EVAL_METRICS)])
    return buf.getvalue()


def write_outputs(out: Path, result: EvalResult, settings: dict) -> list[Path]:
    """Write metrics.csv, summary.json and report.md into `out` atomically; returns their paths."""
    from medvlseg.eval.report import markdown_report
    from medvlseg.utils.atomic import write_json, write_text

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "metrics.csv", out / "summary.json", out / "report.md"]
    write_text(paths[0], rows_to_csv(result.rows))
    cases = sorted({r["case"] for r in result.rows})
    write_json(paths[1], {"settings": settings, "n_cases": len(cases), "classes": result.summary,
                          "missing": result.missing, "failed": result.failed})
    write_text(paths[2], markdown_report(result.rows, result.summary, result.missing, result.failed, settings))
    return paths


def evaluate(pred: Path, gt: Path | None, manifest: Path | None = None, classes: int = 3,
             tolerance_mm: float = 1.0, progress: bool = False, split: str | None = None) -> EvalResult:
    """Score every gt case against its prediction; bad cases are recorded in `failed`, missing ones in `missing`."""
    from tqdm import tqdm

    cases = gt_cases(gt, manifest, split)
    matched = match_predictions(pred, cases)
    result = EvalResult()
    for case in tqdm(cases, desc="evaluate", unit="case", disable=not progress):
        pred_path = matched[case.name]
        if pred_path is None:
            log.warning("%s: no prediction for this case; scored as a miss", case.name)
            result.missing.append(case.name)
        try:
            result.rows.extend(evaluate_case(pred_path, case, classes, tolerance_mm))
        except InputError as exc:
            log.error("%s", exc)
            result.failed[case.name] = str(exc)
    result.summary = summarize(result.rows, classes)
    return result
