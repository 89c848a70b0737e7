"""Tune `--refine topology` weights on a split's saved predictions (never on test), one command.

`.venv/bin/python experiments/topology_sweep.py --pred DIR --manifest DATASET.json --split validation`
DIR holds `predict --probabilities` outputs (<case>.nii.gz + <case>_probabilities.nii.gz, 3-class). Each
TopologyOptions setting relabels the saved labels from the saved probabilities (+ the CT, for the bronchus prior)
on the input grid and is scored with `medvlseg evaluate`'s metrics; prints mean av_accuracy and components per
class for each setting. The defaults were chosen on the engine tuning set (issue 17):
`nice .venv/bin/python experiments/topology_sweep.py --pred experiments/work/topology_engine/tuning/pred
 --manifest experiments/work/topology_engine/tuning/cases/dataset.json --split test` (its own seeds, not the test set).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nibabel as nib
import numpy as np

from medvlseg.eval.evaluate import GtCase, score_case
from medvlseg.infer.predictor import probability_path
from medvlseg.infer.refine import TopologyOptions, refine_topology
from medvlseg.io import Manifest, read_image

SETTINGS = {"voxel-wise (none)": None, "default": TopologyOptions(),
            "beta 0 (segment vote)": TopologyOptions(beta=0.0), "beta 0.3": TopologyOptions(beta=0.3),
            "beta 3": TopologyOptions(beta=3.0), "no roots": TopologyOptions(root_gain=1.0),
            "roots from 5 mm": TopologyOptions(root_radius_mm=5.0), "no balance": TopologyOptions(balance=False),
            "bronchus prior 0.05": TopologyOptions(airway_weight=0.05),
            "bronchus prior 0.2": TopologyOptions(airway_weight=0.2),
            "crossings from segments": TopologyOptions(crossings_from_segments=True),
            "islands kept": TopologyOptions(min_island_mm3=0.0),
            "islands < 300 mm3": TopologyOptions(min_island_mm3=300.0)}


def main() -> None:
    """Score every setting on every case of the split."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pred", type=Path, required=True)
    ap.add_argument("--manifest", type=Path, required=True)
    ap.add_argument("--split", default="validation")
    args = ap.parse_args()
    rows: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for case in Manifest.load(args.manifest).split(args.split):
        labels = read_image(args.pred / f"{case.name}.nii.gz")
        image = read_image(case.image).array.astype(np.float32)
        prob_img = nib.as_closest_canonical(nib.load(str(probability_path(args.pred / f"{case.name}.nii.gz"))))
        probs = np.moveaxis(np.asarray(prob_img.dataobj, dtype=np.float32), -1, 0)  # (2, X, Y, Z) canonical
        gt = read_image(case.label).array.astype(np.int16)
        for name, opts in SETTINGS.items():
            lab = labels.array if opts is None else refine_topology(labels.array, probs[0] - probs[1],
                                                                  labels.spacing, opts, image=image)
            rows[name] += score_case(lab.astype(np.int16), gt, GtCase(case.name, case.label), labels.spacing)
    print(f"{args.split} split; mean over cases")
    print(f"{'setting':24} {'av_acc artery':>13} {'av_acc vein':>11} {'comp artery':>11} {'comp vein':>9} "
          f"{'dice a':>7} {'dice v':>7}")
    for name, rs in rows.items():
        m = {(c, k): float(np.nanmean([r[k] for r in rs if r["class"] == c])) for c in ("artery", "vein")
             for k in ("av_accuracy", "components", "dice")}
        print(f"{name:24} {m['artery', 'av_accuracy']:13.3f} {m['vein', 'av_accuracy']:11.3f} "
              f"{m['artery', 'components']:11.1f} {m['vein', 'components']:9.1f} {m['artery', 'dice']:7.3f} "
              f"{m['vein', 'dice']:7.3f}")


if __name__ == "__main__":
    main()
