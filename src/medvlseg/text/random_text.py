"""`random`: a weight-free frozen "text encoder" mapping each prompt to a fixed random unit vector.

The control arm of the text-encoder ablation: embeddings carry no language, only identity (the same prompt
always gives the same vector, different prompts nearly orthogonal ones). Hand-written because it is a control,
not a model: a SHA-256 of (seed, prompt) seeds a torch generator that draws a Gaussian vector, L2-normalised.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

from medvlseg.errors import ConfigError
from medvlseg.text.base import TextEncoder, l2_normalize, register_text_encoder


@register_text_encoder("random")
class RandomTextEncoder(TextEncoder):
    """Prompt → unit Gaussian vector of length `dim`, a pure function of (seed, prompt)."""

    name = "random"

    def __init__(self, dim: int = 384, seed: int = 0) -> None:
        if int(dim) < 1:
            raise ConfigError(f"random text encoder: dim must be ≥ 1, got {dim}")
        self._dim, self.seed = int(dim), int(seed)

    @property
    def dim(self) -> int:
        """Embedding size E."""
        return self._dim

    def _vector(self, prompt: str) -> torch.Tensor:
        """The prompt's vector (E,)."""
        digest = hashlib.sha256(f"{self.seed}\0{prompt}".encode()).digest()
        g = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
        return torch.randn(self._dim, generator=g)

    def _encode(self, prompts: list[str]) -> torch.Tensor:
        """(N, E) unit vectors."""
        return l2_normalize(torch.stack([self._vector(p) for p in prompts]))

    def config(self) -> dict[str, Any]:
        """Kwargs that rebuild this encoder."""
        return {"name": self.name, "dim": self._dim, "seed": self.seed}
