"""Skeleton Recall loss ablation (Kirchhoff et al., ECCV 2024): light LACAF with loss.skeleton_recall 0 / 0.5 / 1.

One command: `.venv/bin/python experiments/skeleton_recall_ablation.py --budget {smoke,full} [--seeds N]`.
Arms differ only in `loss.skeleton_recall` (the weight of 1 − soft recall of the tubed gt skeleton, added to the
partial-label ½(Dice + BCE)); the table reports Dice, clDice and the other phantom-benchmark metrics per seed.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

ARMS = [Arm("LACAF", {"preset": "lacaf"}),
        Arm("LACAF + SkelRecall 0.5", {"preset": "lacaf", "loss.skeleton_recall": 0.5}),
        Arm("LACAF + SkelRecall 1.0", {"preset": "lacaf", "loss.skeleton_recall": 1.0})]
NOTES = ("Skeleton Recall: weight × (1 − Σ p·S / Σ S) with S the gt skeleton dilated by a 6-connected cross, "
         "per class over annotated samples (medvlseg.train.skeleton_recall).")

if __name__ == "__main__":
    main("skeleton_recall_ablation", "Skeleton Recall loss ablation", ARMS, notes=NOTES)
