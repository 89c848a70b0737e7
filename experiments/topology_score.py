"""Score `--refine none` vs `--refine topology` from cached predictions (experiments/topology_engine.py `score`).

Per case (cached `predict --fast --probabilities` outputs of the shipped default model, input grid): the voxel-wise
labels as written (`none`), the same labels refined from the saved artery − vein evidence and the CT (`topology`),
and an oracle-noised network (truth vessel mask; artery/vein evidence from the truth with whole segments flipped
and voxel noise) before and after refinement — what the graph step does when the evidence is informative.
Metrics are `medvlseg evaluate`'s (medvlseg.eval.evaluate.score_case); paired tests from
medvlseg.experiments.stats over a (1 model, cases) matrix. Writes OUT/engine.json, OUT/oracle_flip*.json and
OUT/README.md.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage
from tqdm import tqdm

from medvlseg.eval.evaluate import GtCase, score_case
from medvlseg.experiments.stats import paired_test
from medvlseg.infer.predictor import probability_path
from medvlseg.infer.refine import TopologyOptions, refine_topology
from medvlseg.infer.refine.graph import build_graph
from medvlseg.infer.refine.topology import nearest_skeleton
from medvlseg.io import Manifest, read_image
from medvlseg.utils.atomic import write_json, write_text

METRICS = ("dice", "cldice", "skeleton_recall", "av_accuracy", "components", "betti0_error")
CLASSES = ("artery", "vein")
COMMAND = "nice .venv/bin/python experiments/topology_engine.py score"


@dataclass
class Cached:
    """One cached case on its canonical input grid (HU, labels 1 artery 2 vein, artery − vein evidence, mm)."""

    name: str
    meta: dict
    image: np.ndarray
    labels: np.ndarray
    evidence: np.ndarray
    truth: np.ndarray
    spacing: tuple[float, ...]
    label_path: Path


def load_cases(work: Path) -> list[Cached]:
    """Every test case of WORK/cases/dataset.json with its cached prediction under WORK/pred."""
    out = []
    for case in Manifest.load(work / "cases" / "dataset.json").split("test"):
        pred_path = work / "pred" / f"{case.name}.nii.gz"
        labels = read_image(pred_path)
        prob = nib.as_closest_canonical(nib.load(str(probability_path(pred_path))))
        probs = np.asarray(prob.dataobj, dtype=np.float32)  # (X, Y, Z, 2) canonical
        out.append(Cached(case.name, case.meta, read_image(case.image).array.astype(np.float32),
                          labels.array.astype(np.uint8), probs[..., 0] - probs[..., 1],
                          read_image(case.label).array.astype(np.uint8), tuple(labels.spacing), case.label))
    return out


def oracle(truth: np.ndarray, spacing: tuple[float, ...], flip: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Oracle-noised network: (labels, evidence) on the truth vessel mask, the truth's class with a share `flip`
    of the truth graph's segments flipped whole and smoothed voxel noise (σ 0.5 on a ±0.3 signal)."""
    rng = np.random.default_rng(seed)
    mask = truth > 0
    graph = build_graph(mask, spacing)
    seg = nearest_skeleton(graph, np.asarray(spacing, dtype=np.float64))
    flipped = np.concatenate([[False], rng.random(graph.n) < flip, np.zeros(int(graph.junctions.max(initial=0)), bool)])
    sign = np.where(truth == 1, 1.0, -1.0) * np.where(flipped[seg], -1.0, 1.0)
    noise = ndimage.gaussian_filter(rng.normal(0.0, 1.0, truth.shape), 1.0)
    noise *= 0.5 / max(float(noise[mask].std()), 1e-9)
    evidence = np.where(mask, 0.3 * sign + noise, 0.0).astype(np.float32)
    return np.where(mask, np.where(evidence > 0, 1, 2), 0).astype(np.uint8), evidence


def evidence_vs_truth(c: Cached) -> dict[str, float]:
    """How informative the network's evidence is on its own vessel graph: share of the truth-vessel voxels whose
    segment's summed evidence has the truth majority's sign, the same for single voxels, and the upper bound of any
    segment labelling (each segment's territory labelled with its truth majority)."""
    mask = c.labels > 0
    spacing = np.asarray(c.spacing, dtype=np.float64)
    graph = build_graph(mask, spacing)
    idx = np.nonzero(mask)
    seg, truth, ev = nearest_skeleton(graph, spacing)[idx], c.truth[idx], c.evidence[idx]
    on = (seg <= graph.n) & (truth > 0)
    s, t, e = seg[on] - 1, truth[on], ev[on]
    artery = np.bincount(s, weights=t == 1, minlength=graph.n)
    vein = np.bincount(s, weights=t == 2, minlength=graph.n)
    seg_artery = np.bincount(s, weights=e, minlength=graph.n) > 0
    n = max(int(on.sum()), 1)
    if not on.any():
        return {"voxel_sign_accuracy": float("nan"), "segment_sign_accuracy": float("nan"),
                "segment_upper_bound": float("nan"), "segments": int(graph.n)}
    return {"voxel_sign_accuracy": float(np.mean((e > 0) == (t == 1))),
            "segment_sign_accuracy": float(np.sum(np.where(seg_artery, artery, vein)) / n),
            "segment_upper_bound": float(np.sum(np.maximum(artery, vein)) / n), "segments": int(graph.n)}


def rows_of(name: str, labels: np.ndarray, truth: np.ndarray, spacing: tuple[float, ...], path: Path) -> list[dict]:
    """evaluate's per-class rows of one labelling."""
    return score_case(labels.astype(np.int16), truth.astype(np.int16), GtCase(name, path), spacing)


def summarise(rows: dict[str, list[dict]], base: str, new: str, cases: list[str]) -> dict:
    """Means per class and arm, per-case class-mean matrices and paired tests new vs base."""
    def per_case(arm: str, metric: str) -> np.ndarray:
        by = {(r["case"], r["class"]): float(r[metric]) for r in rows[arm]}
        return np.array([[np.nanmean([by[c, k] for k in CLASSES]) for c in cases]])  # (1 model, cases)

    means = {arm: {k: {m: float(np.nanmean([r[m] for r in rs if r["class"] == k])) for m in METRICS}
                   for k in CLASSES} for arm, rs in rows.items()}
    tests = {}
    for metric, direction in (("av_accuracy", "greater"), ("dice", "greater"), ("cldice", "greater"),
                              ("skeleton_recall", "greater"), ("components", "less")):
        a, b = per_case(new, metric), per_case(base, metric)
        defined = np.isfinite(a[0]) & np.isfinite(b[0])  # av_accuracy is undefined where no vessel voxel overlaps
        tests[metric] = paired_test(a[:, defined], b[:, defined], direction).as_dict() | {
            "undefined_cases": [c for c, d in zip(cases, defined) if not d]}
    comp = {k: means[base][k]["components"] / max(means[new][k]["components"], 1e-9) for k in CLASSES}
    return {"means": means, "components_reduction_x": comp, "paired": tests,
            "per_case": {arm: {m: per_case(arm, m)[0].tolist() for m in METRICS} for arm in rows}}


def hardware() -> str:
    """One line: CPUs, CPU model, Python."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} CPU cores ({cpu}), Python {sys.version.split()[0]}, no GPU; shared with other jobs"


def oracle_name(flip: float) -> str:
    """File stem of the oracle experiment with share `flip` of segments flipped."""
    return f"oracle_flip{flip:.2f}"


def score(work: Path, out: Path, flips: tuple[float, ...], options: TopologyOptions | None = None) -> dict:
    """Both experiments on every cached case (one oracle per flip share); writes OUT/engine.json,
    OUT/oracle_flip<share>.json and OUT/README.md."""
    options = options or TopologyOptions()
    cases = load_cases(work)
    names = [c.name for c in cases]
    rows: dict[str, list[dict]] = {"none": [], "topology": []}
    orows: dict[float, dict[str, list[dict]]] = {f: {"none": [], "topology": []} for f in flips}
    seconds = 0.0
    analysis = {}
    for i, c in enumerate(tqdm(cases, desc="score", unit="case")):
        analysis[c.name] = evidence_vs_truth(c)
        t0 = time.perf_counter()
        refined = refine_topology(c.labels, c.evidence, c.spacing, options, image=c.image)
        seconds += time.perf_counter() - t0
        rows["none"] += rows_of(c.name, c.labels, c.truth, c.spacing, c.label_path)
        rows["topology"] += rows_of(c.name, refined, c.truth, c.spacing, c.label_path)
        for flip in flips:
            o_labels, o_evidence = oracle(c.truth, c.spacing, flip, seed=i)
            orows[flip]["none"] += rows_of(c.name, o_labels, c.truth, c.spacing, c.label_path)
            o_refined = refine_topology(o_labels, o_evidence, c.spacing, options, image=c.image)
            orows[flip]["topology"] += rows_of(c.name, o_refined, c.truth, c.spacing, c.label_path)
    common = {"command": COMMAND, "hardware": hardware(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "options": vars(options), "cases": {c.name: {k: c.meta[k] for k in ("phase", "fov", "spacing", "shape")}
                                                  for c in cases}}
    engine = {**common, "model": "shipped default (predict --fast --probabilities)", "refine_s_total": seconds,
              "evidence_vs_truth": analysis,
              **summarise(rows, "none", "topology", names), "rows": rows}
    orcs = [{**common, "oracle": {"flip_segments": f, "signal": 0.3, "noise_sigma": 0.5},
             **summarise(orows[f], "none", "topology", names), "rows": orows[f]} for f in flips]
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "engine.json", engine)
    for f, orc in zip(flips, orcs):
        write_json(out / f"{oracle_name(f)}.json", orc)
    write_text(out / "README.md", report(engine, orcs, names))
    print(report(engine, orcs, names))
    return engine


def _table(res: dict, names: list[str], title: str) -> list[str]:
    """Markdown: class means before/after, paired tests, per-case rows (class means)."""
    m = res["means"]
    lines = [f"### {title}", "", "| class | metric | none | topology | change |", "|---|---|---|---|---|"]
    for k in CLASSES:
        for metric in METRICS:
            a, b = m["none"][k][metric], m["topology"][k][metric]
            change = f"{a / b:.2f}x fewer" if metric == "components" and b else f"{b - a:+.3f}"
            lines.append(f"| {k} | {metric} | {a:.3f} | {b:.3f} | {change} |")
    lines += ["", "Paired tests (topology − none, per case mean of artery and vein; 1 model x cases):"]
    for metric, t in res["paired"].items():
        lines.append(f"- {metric} ({t['direction']}): effect {t['mean_diff']:+.3f} (95 % CI {t['ci_low']:+.3f} to "
                     f"{t['ci_high']:+.3f}), Wilcoxon p = {t['p_wilcoxon']:.3g}, permutation p = "
                     f"{t['p_permutation']:.3g} → **{t['verdict']}**")
    lines += ["", "| case | phase | fov | av_acc none | av_acc topo | dice none | dice topo | comp none | comp topo |",
              "|---|---|---|---|---|---|---|---|---|"]
    pc = res["per_case"]
    for i, n in enumerate(names):
        meta = res["cases"][n]
        lines.append(f"| {n} | {meta['phase']} | {meta['fov']} | {pc['none']['av_accuracy'][i]:.3f} | "
                     f"{pc['topology']['av_accuracy'][i]:.3f} | {pc['none']['dice'][i]:.3f} | "
                     f"{pc['topology']['dice'][i]:.3f} | {pc['none']['components'][i]:.1f} | "
                     f"{pc['topology']['components'][i]:.1f} |")
    return lines + [""]


def targets(res: dict) -> list[str]:
    """Issue 17's targets checked on class means: av_accuracy +8 points, components 5x fewer, Dice not lower."""
    m, lines = res["means"], []
    for k in CLASSES:
        gain = m["topology"][k]["av_accuracy"] - m["none"][k]["av_accuracy"]
        comp = res["components_reduction_x"][k]
        dice = m["topology"][k]["dice"] - m["none"][k]["dice"]
        lines.append(f"- {k}: av_accuracy {gain * 100:+.1f} points ({'met' if gain >= 0.08 else 'missed'}: ≥ +8), "
                     f"components {comp:.1f}x fewer ({'met' if comp >= 5 else 'missed'}: ≥ 5x), Dice {dice:+.3f} "
                     f"({'met' if dice >= 0 else 'missed'}: not lower)")
    return lines + [""]


def report(engine: dict, orcs: list[dict], names: list[str]) -> str:
    """docs/results/topology/README.md text."""
    head = ["# `--refine topology` on unseen engine cases (issue 17)", "",
            f"Command: `{engine['command']}` (after `testset` and `predict`, see experiments/topology_engine.py).",
            f"Hardware: {engine['hardware']}. Date: {engine['date']}. Options: `{engine['options']}`.",
            f"Refinement time, all {len(names)} cases: {engine['refine_s_total']:.1f} s.", "",
            "Metrics are `medvlseg evaluate`'s per class; `components` is β0 of the class mask (per-case mean of "
            "artery and vein in the per-case table).", "",
            "### Evidence vs truth (shipped model, its own vessel graph)",
            "", "Share of truth-vessel voxels in the predicted mask whose class the network's evidence gets right: per "
            "voxel (sign of p_artery − p_vein), per segment (sign of the sum over the segment's territory), and the "
            "ceiling of any segment labelling (each segment takes its truth majority).", "",
            "| case | voxel sign | segment sign | segment ceiling | segments |", "|---|---|---|---|---|"]
    for n in names:
        a = engine["evidence_vs_truth"][n]
        head.append(f"| {n} | {a['voxel_sign_accuracy']:.3f} | {a['segment_sign_accuracy']:.3f} | "
                    f"{a['segment_upper_bound']:.3f} | {a['segments']} |")
    mean = {k: float(np.nanmean([engine["evidence_vs_truth"][n][k] for n in names]))
            for k in ("voxel_sign_accuracy", "segment_sign_accuracy", "segment_upper_bound")}
    head += [f"| mean | {mean['voxel_sign_accuracy']:.3f} | {mean['segment_sign_accuracy']:.3f} | "
             f"{mean['segment_upper_bound']:.3f} | |", ""]
    head += ["### Targets (class means)", "", "Shipped default model:", "", *targets(engine)]
    for orc in orcs:
        head += [f"Oracle-noised network, {orc['oracle']['flip_segments']:.0%} of segments flipped:", "",
                 *targets(orc)]
    tables = _table(engine, names, "Shipped default model (predict --fast)")
    for orc in orcs:
        tables += _table(orc, names, f"Oracle-noised network ({orc['oracle']})")
    return "\n".join(head + tables)


def rewrite_report(out: Path, flips: tuple[float, ...]) -> None:
    """OUT/README.md again from OUT/engine.json and the OUT/oracle_flip*.json files (no scoring)."""
    engine = json.loads((out / "engine.json").read_text(encoding="utf-8"))
    orcs = [json.loads((out / f"{oracle_name(f)}.json").read_text(encoding="utf-8")) for f in flips]
    write_text(out / "README.md", report(engine, orcs, list(engine["cases"])))
