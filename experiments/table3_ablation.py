"""Table III of seed 002 — ablation: Universal Model (UM) → + 5-class data augmentation (DA) → + adapters and
cross-attention (AAP = LACAF).

One command: `.venv/bin/python experiments/table3_ablation.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

ARMS = [Arm("UM", {"preset": "universal", "label_mode": "3class"}),
        Arm("UM + DA", {"preset": "universal", "label_mode": "5class"}),
        Arm("UM + DA + AAP (LACAF)", {"preset": "lacaf", "label_mode": "5class"})]
NOTES = ("DA is seed 002's 5-class left/right relabeling of the labels (with the partial-label loss); AAP its text "
         "and image adapters with cross-attention fusion replacing the Universal Model's concatenation.")

if __name__ == "__main__":
    main("table3_ablation", "Table III — ablation (UM → +DA → +AAP)", ARMS, notes=NOTES)
