"""Table II of seed 002 — half-labeled data: {3-class naive, 5-class partial-label} x {full-only, full + half}
training sets, for the plain U-Net and LACAF.

One command: `.venv/bin/python experiments/table2_half_labels.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

SUBSETS = {"both": "full only", "any": "full + half"}
ARMS = [Arm(f"{preset} {mode} {SUBSETS[subset]}", {"preset": preset, "label_mode": mode, "train_annotated": subset})
        for preset in ("unet", "lacaf") for mode in ("3class", "5class") for subset in ("both", "any")]
NOTES = ("3class: the unannotated lung of a half-labeled case counts as background (naive); 5class: left/right "
         "relabeling with the partial-label loss (unannotated classes masked). 'full only' trains on the fully "
         "labeled training cases alone. Seed 002's claim: 5-class with half-labeled data is best.")

if __name__ == "__main__":
    main("table2_half_labels", "Table II — half-labeled data (3-class vs 5-class, full-only vs full + half)",
         ARMS, notes=NOTES)
