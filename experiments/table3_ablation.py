"""Table III of seed 002 — ablation: Universal Model (UM) → + 5-class data augmentation (DA) → + adapters and
cross-attention (AAP = LACAF).

One command: `.venv/bin/python experiments/table3_ablation.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main
from medvlseg.experiments.verdicts import Claim

ARMS = [Arm("UM", {"preset": "universal", "label_mode": "3class"}),
        Arm("UM + DA", {"preset": "universal", "label_mode": "5class"}),
        Arm("UM + DA + AAP (LACAF)", {"preset": "lacaf", "label_mode": "5class"})]
CLAIMS = [Claim("+DA helps: UM + DA > UM", ARMS[1].name, ARMS[0].name),
          Claim("+AAP helps: LACAF > UM + DA", ARMS[2].name, ARMS[1].name)]
NOTES = ("DA is seed 002's 5-class left/right relabeling of the labels (with the partial-label loss); AAP its text "
         "and image adapters with cross-attention fusion replacing the Universal Model's concatenation.")
TITLE = "Table III — ablation (UM → +DA → +AAP)"

if __name__ == "__main__":
    main("table3_ablation", TITLE, ARMS, notes=NOTES, claims=CLAIMS)
