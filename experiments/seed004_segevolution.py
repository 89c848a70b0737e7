"""Seed 004 — SegEVOLution on mixed CT / MRI-like phantoms: SegVol baseline vs + Mixture-of-Adapters vs + MoA +
context priors, scored like Tables I–IV (artery/vein Dice, clDice, … per test case, 3-class) with the paired test.

One command: `.venv/bin/python experiments/seed004_segevolution.py --budget {smoke,cpu,medium}`; `cpu` runs at
budget `cpu-mixed` (classic `tiny` phantoms alternating CT and MRI-like: 8 training, 2 validation, 20 test cases),
`medium` at `medium-mixed`. The first results (budget `full`, mean Dice over 4 classes, 6 test cases, 3 seeds,
H100) are in docs/results/seed004_full/, made by experiments/seed004_segevolution_v1.py (kept for --report-only).
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main
from medvlseg.experiments.verdicts import Claim

ARMS = [Arm("SegVol", {"preset": "segvol"}),
        Arm("+ MoA", {"preset": "segevolution"}, {"options.priors": False}),
        Arm("+ MoA + priors (SegEVOLution)", {"preset": "segevolution"})]
CLAIMS = [Claim("MoA helps the new modality: + MoA > SegVol on MRI-like cases", ARMS[1].name, ARMS[0].name,
                subset="modality=mri"),
          Claim("MoA on CT (claimed: no loss; 'reversed' = it hurts CT)", ARMS[1].name, ARMS[0].name,
                subset="modality=ct"),
          Claim("context priors help on CT", ARMS[2].name, ARMS[1].name, subset="modality=ct"),
          Claim("context priors help on MRI-like cases", ARMS[2].name, ARMS[1].name, subset="modality=mri")]
NOTES = ("Test cases alternate CT and MRI-like (pseudo-HU) phantoms; MRI-like cases are predicted with modality "
         "`mri` (the MoA's LoRA route), CT cases with `ct`. All arms train 5-class on the same mixed set.")
TITLE = "Seed 004 — SegEVOLution (SegVol → + MoA → + context priors)"

if __name__ == "__main__":
    main("seed004_segevolution", TITLE, ARMS,
         notes=NOTES, claims=CLAIMS, budget_suffix="-mixed")
