"""Table I of seed 002 — prompt templates: LACAF trained with each of the four templates.

One command: `.venv/bin/python experiments/table1_prompts.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main
from medvlseg.text import TEMPLATES

ARMS = [Arm(f'"{TEMPLATES[t]}"', {"preset": "lacaf", "text.template": t}) for t in ("photo", "ct", "there_is",
                                                                                     "branches")]
NOTES = "Seed 002, Table I: the template with small branches was best there (class names filled in per class)."

if __name__ == "__main__":
    main("table1_prompts", "Table I — prompt templates (LACAF, MiniLM text encoder)", ARMS, notes=NOTES)
