"""Text-encoder ablation (Med-VLM's Table 3 idea on the 3D task): does language help LACAF here at all?
MiniLM prompts vs no text (learned class embeddings) vs random frozen embeddings (identity only).

One command: `.venv/bin/python experiments/text_ablation.py --budget {smoke,full}`.
"""

from __future__ import annotations

from medvlseg.experiments import Arm
from medvlseg.experiments.cli import main
from medvlseg.experiments.verdicts import Claim

ARMS = [Arm("MiniLM prompts (frozen)", {"preset": "lacaf"}),
        Arm("no text (learned embeddings)", {"preset": "lacaf", "text.name": "random"},
            {"learn_class_embeddings": True}),
        Arm("random embeddings (frozen)", {"preset": "lacaf", "text.name": "random"})]
CLAIMS = [Claim("language helps: MiniLM prompts > learned class embeddings", ARMS[0].name, ARMS[1].name),
          Claim("language helps: MiniLM prompts > random frozen embeddings", ARMS[0].name, ARMS[2].name)]
NOTES = ("Random embeddings: a fixed unit Gaussian vector per prompt (medvlseg text encoder `random`, 384-d like "
         "MiniLM); learned: the same start, trained with the network.")
TITLE = "Text-encoder ablation (LACAF)"

if __name__ == "__main__":
    main("text_ablation", TITLE, ARMS, notes=NOTES, claims=CLAIMS)
