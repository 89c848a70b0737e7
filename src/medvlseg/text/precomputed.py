"""Text "encoder" that looks prompts up in a file of stored embeddings (`medvlseg.text.cache` format).

This is how the Universal Model works at inference: class embeddings are a stored tensor, no text model is
loaded. With `fallback=True`, an unknown prompt is encoded by the encoder recorded in the file's metadata
(loaded lazily, only then); otherwise an unknown prompt raises InputError naming the file and the prompt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from medvlseg.errors import InputError
from medvlseg.text.base import TextEncoder, register_text_encoder, text_encoder_from_config
from medvlseg.text.cache import load_embeddings

logger = logging.getLogger(__name__)


class PrecomputedTextEncoder(TextEncoder):
    """Embeddings (K, E) read from a safetensors file; encode() returns the rows of the asked prompts."""

    name = "precomputed"

    def __init__(self, path: str | Path, fallback: bool = False) -> None:
        self.path = Path(path).expanduser().resolve()
        self.store = load_embeddings(self.path)
        self.fallback = bool(fallback)
        self._fallback_encoder: TextEncoder | None = None

    @property
    def dim(self) -> int:
        """Stored embedding size E."""
        return int(self.store.embeddings.shape[1])

    @property
    def prompts(self) -> list[str]:
        """The stored prompts, in row order."""
        return list(self.store.prompts)

    def _fallback(self) -> TextEncoder:
        """Build (once) the encoder recorded in the file's metadata."""
        if self._fallback_encoder is None:
            cfg = self.store.encoder_config
            if not cfg.get("name") or cfg.get("name") == self.name:
                raise InputError(self.path, "no usable text encoder recorded in the metadata for unknown prompts")
            logger.info("encoding new prompts with the recorded %s encoder", cfg["name"])
            self._fallback_encoder = text_encoder_from_config(cfg)
            if self._fallback_encoder.dim != self.dim:
                raise InputError(self.path, f"recorded encoder gives {self._fallback_encoder.dim}-d embeddings, "
                                            f"file holds {self.dim}-d")
        return self._fallback_encoder

    def _encode(self, prompts: list[str]) -> torch.Tensor:
        """Stored rows for known prompts (N, E); unknown ones via the fallback encoder or an InputError."""
        index = {p: i for i, p in enumerate(self.store.prompts)}
        unknown = [p for p in dict.fromkeys(prompts) if p not in index]
        if unknown and not self.fallback:
            shown = ", ".join(repr(p) for p in self.store.prompts[:8])
            raise InputError(self.path, f"prompt {unknown[0]!r} has no stored embedding (stored: {shown})")
        extra = dict(zip(unknown, self._fallback().encode(unknown))) if unknown else {}
        rows = [self.store.embeddings[index[p]] if p in index else extra[p] for p in prompts]
        return torch.stack(rows)  # (N, E)

    def config(self) -> dict[str, Any]:
        """Kwargs that rebuild this encoder."""
        return {"name": self.name, "path": str(self.path), "fallback": self.fallback}


register_text_encoder("precomputed")(PrecomputedTextEncoder)
