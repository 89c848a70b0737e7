"""Table IV of seed 002 — comparison: 3D U-Net, CLIP-Driven Universal Model, LACAF and MONAI's SegResNet as an
extra modern baseline (all 5-class, full + half training set). The nnU-Net row comes from its own tool (experiments/nnunet/), see docs/results/README.md.

One command: `.venv/bin/python experiments/table4_comparison.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

ARMS = [Arm("3D U-Net", {"preset": "unet"}), Arm("Universal Model", {"preset": "universal"}),
        Arm("LACAF", {"preset": "lacaf"}),
        # the extra modern baseline the issue asks for: MONAI's SegResNet (same light width, softmax head, no text)
        Arm("SegResNet (MONAI)", {"preset": "unet"}, {"backbone.name": "segresnet"})]
NOTES = "Seed 002's claim: LACAF > Universal Model > U-Net on both artery and vein."

if __name__ == "__main__":
    main("table4_comparison", "Table IV — comparison (artery and vein)", ARMS, notes=NOTES)
