"""Table I of seed 002 — prompt templates: LACAF trained with each of the four templates.

One command: `.venv/bin/python experiments/table1_prompts.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main
from medvlseg.experiments.verdicts import Claim
from medvlseg.text import TEMPLATES

ARMS = [Arm(f'"{TEMPLATES[t]}"', {"preset": "lacaf", "text.template": t}) for t in ("photo", "ct", "there_is",
                                                                                     "branches")]
NOTES = "Seed 002, Table I: the template with small branches was best there (class names filled in per class)."
CLAIMS = [Claim(f'template matters: "with small branches" > {ARMS[i].name}', ARMS[3].name, ARMS[i].name)
          for i in range(3)]
TITLE = "Table I — prompt templates (LACAF, MiniLM text encoder)"

if __name__ == "__main__":
    main("table1_prompts", TITLE, ARMS, notes=NOTES, claims=CLAIMS)
