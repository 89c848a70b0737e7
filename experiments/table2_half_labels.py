"""Table II of seed 002 — half-labeled data: {3-class naive, 5-class partial-label} x {full-only, full + half}
training sets, for the plain U-Net and LACAF.

One command: `.venv/bin/python experiments/table2_half_labels.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main
from medvlseg.experiments.verdicts import Claim

SUBSETS = {"both": "full only", "any": "full + half"}
ARMS = [Arm(f"{preset} {mode} {SUBSETS[subset]}", {"preset": preset, "label_mode": mode, "train_annotated": subset},
            skip_budgets=("cpu",) if preset == "unet" else ())
        for preset in ("unet", "lacaf") for mode in ("3class", "5class") for subset in ("both", "any")]
CLAIMS = [Claim("5-class (partial-label loss) > 3-class (naive) with half-labelled data (LACAF, full + half)",
                "lacaf 5class full + half", "lacaf 3class full + half"),
          Claim("adding half-labelled cases helps: full + half > full only (LACAF, 5-class)",
                "lacaf 5class full + half", "lacaf 5class full only"),
          Claim("adding half-labelled cases helps the naive 3-class model (LACAF)",
                "lacaf 3class full + half", "lacaf 3class full only")]
NOTES = ("3class: the unannotated lung of a half-labeled case counts as background (naive); 5class: left/right "
         "relabeling with the partial-label loss (unannotated classes masked). 'full only' trains on the fully "
         "labeled training cases alone. Seed 002's claim: 5-class with half-labeled data is best. Budget `cpu` runs "
         "the LACAF arms only (the U-Net arms add no claim and do not fit its time).")
TITLE = "Table II — half-labeled data (3-class vs 5-class, full-only vs full + half)"

if __name__ == "__main__":
    main("table2_half_labels", TITLE,
         ARMS, notes=NOTES, claims=CLAIMS)
