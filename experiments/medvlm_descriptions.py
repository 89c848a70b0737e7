"""Seed 003, Table 2 — description type: Med-VLM trained with no, simple (the name) or complex (anatomical)
descriptions as the class prompts (src/medvlseg/resources/descriptions.yaml).

One command: `.venv/bin/python experiments/medvlm_descriptions.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main

ARMS = [Arm(f"{level} descriptions", {"preset": "medvlm", "text.descriptions": level})
        for level in ("none", "simple", "complex")]
NOTES = ("Seed 003, Table 2: complex (authoritative anatomical) descriptions were best there. 'none' = empty "
         "prompts plus a learned per-class query (otherwise the classes could not be told apart). MiniLM text "
         "model, light ViT (random frozen weights: no pre-trained ViT is available offline), LoRA on both.")

if __name__ == "__main__":
    main("medvlm_descriptions", "Table 2 (seed 003) — description type (Med-VLM)", ARMS, notes=NOTES)
