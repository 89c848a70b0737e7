"""Seed 003, Table 5 — how the frozen encoders are tuned: LoRA vs bottleneck adapters vs prefix tuning, on both
encoders, complex descriptions, each at the same trainable-parameter budget (32 x width per layer: LoRA rank 8 on
query and value, adapter width 16, 16 prefix tokens); mixer and decoder always train.

One command: `.venv/bin/python experiments/medvlm_tuning.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

BASE = {"preset": "medvlm", "text.descriptions": "complex"}
BOTH = {"options.lora_text": True, "options.lora_image": True}  # the "both" arm of medvlm_lora.py: shared runs
ARMS = [Arm("LoRA", BASE, BOTH),
        Arm("bottleneck adapter", BASE, {**BOTH, "options.tuning": "adapter"}),
        Arm("prefix tuning", BASE, {**BOTH, "options.tuning": "prefix"})]
NOTES = ("Seed 003, Table 5: LoRA was best there, ahead of adapters and prefix tuning. Same trainable budget per "
         "layer for the three; the ViT's frozen weights are random here (no pre-trained ViT offline).")

if __name__ == "__main__":
    main("medvlm_tuning", "Table 5 (seed 003) — tuning method (Med-VLM)", ARMS, notes=NOTES)
