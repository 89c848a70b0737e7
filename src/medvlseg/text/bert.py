"""BERT-family text encoders (BERT-base, BioBERT, PubMedBERT, MiniLM…) loaded from a local Hugging Face folder.

Loading never touches the network: `local_files_only=True` and HF_HUB_OFFLINE=1 (set for the process when a
model is loaded, if the user has not set it). Pooling is "mean" (average of the last hidden states over the
attention mask, as sentence-transformers does) or "cls" (the [CLS] token's last hidden state).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from medvlseg.errors import InputError
from medvlseg.text.base import TextEncoder, freeze, l2_normalize, register_text_encoder

logger = logging.getLogger(__name__)

POOLINGS = ("mean", "cls")


def check_model_folder(path: str | Path) -> Path:
    """Return `path` resolved, or raise InputError if it is not a folder holding a config.json."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise InputError(folder, "text model folder not found (expected a local Hugging Face model folder)")
    if not (folder / "config.json").is_file():
        raise InputError(folder, "no config.json: not a Hugging Face model folder")
    return folder.resolve()


def load_hf_tokenizer(folder: Path) -> Any:
    """Load the tokenizer saved in a local model folder (offline); InputError if there is none."""
    from transformers import AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InputError(folder, f"cannot load a tokenizer from this folder: {exc}") from exc


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average hidden states (N, T, H) over tokens where mask (N, T) is 1 → (N, H)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # (N, T, 1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-9)


class BertTextEncoder(TextEncoder):
    """Frozen BERT-family encoder from a local folder; mean or CLS pooling; optional L2 normalisation."""

    name = "bert"

    def __init__(
        self,
        path: str | Path,
        pooling: str = "mean",
        normalize: bool = False,
        max_length: int = 128,
        device: str = "cpu",
    ) -> None:
        from transformers import AutoModel

        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.path = check_model_folder(path)
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.max_length = int(max_length)
        self.device = torch.device(device)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.tokenizer = load_hf_tokenizer(self.path)
        try:
            model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise InputError(self.path, f"cannot load a text model from this folder: {exc}") from exc
        self.model = freeze(model).to(self.device)
        logger.info("loaded %s text encoder from %s (dim %d)", self.name, self.path, self.dim)

    @property
    def dim(self) -> int:
        """Hidden size of the model (E)."""
        return int(self.model.config.hidden_size)

    def frozen_parameters(self) -> list[torch.nn.Parameter]:
        """All model parameters (requires_grad False)."""
        return list(self.model.parameters())

    def _encode(self, prompts: list[str]) -> torch.Tensor:
        """Tokenise, run the model, pool to (N, H), optionally L2-normalise."""
        batch = self.tokenizer(
            prompts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state  # (N, T, H)
        if self.pooling == "cls":
            pooled = hidden[:, 0]  # (N, H)
        else:
            pooled = masked_mean(hidden, batch["attention_mask"])
        return l2_normalize(pooled) if self.normalize else pooled

    def config(self) -> dict[str, Any]:
        """Kwargs that rebuild this encoder."""
        return {
            "name": self.name,
            "path": str(self.path),
            "pooling": self.pooling,
            "normalize": self.normalize,
            "max_length": self.max_length,
        }


register_text_encoder("bert")(BertTextEncoder)
