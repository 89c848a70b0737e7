"""Seed 003, Table 4 — where LoRA goes: Med-VLM with LoRA on the text encoder, the image encoder, both or neither
(mixer and decoder always train), complex descriptions.

One command: `.venv/bin/python experiments/medvlm_lora.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

BASE = {"preset": "medvlm", "text.descriptions": "complex"}
ARMS = [Arm(name, BASE, {"options.lora_text": text, "options.lora_image": image})
        for name, text, image in (("neither", False, False), ("text only", True, False),
                                  ("image only", False, True), ("both", True, True))]
NOTES = ("Seed 003, Table 4: LoRA on both encoders was best there. The ViT's frozen weights are random here (no "
         "pre-trained ViT offline), so image LoRA adapts a random feature extractor, unlike the paper.")

if __name__ == "__main__":
    main("medvlm_lora", "Table 4 (seed 003) — LoRA placement (Med-VLM)", ARMS, notes=NOTES)
