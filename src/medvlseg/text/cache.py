"""Class-prompt embeddings on disk (safetensors + metadata) and an LRU cache around any text encoder.

File format (what the Universal Model stores as a buffer, made self-describing): one tensor `embeddings`
(K, E) float32; metadata `prompts` (JSON list of the K prompts, row order), `encoder` (JSON of the
encoder's `config()`), `format`. A trained run keeps its class embeddings this way, so predict needs no text
model unless a new prompt is asked for.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from medvlseg.errors import CheckpointError, InputError
from medvlseg.text.base import TextEncoder
from medvlseg.utils.atomic import atomic_path
from medvlseg.utils.tensor_files import read_safetensors

logger = logging.getLogger(__name__)

FORMAT = "medvlseg-text-embeddings/1"


@dataclass
class EmbeddingSet:
    """Prompts, their embeddings (K, E) and the config of the encoder that made them."""

    prompts: list[str]
    embeddings: torch.Tensor
    encoder_config: dict[str, Any] = field(default_factory=dict)

    def lookup(self, prompts: list[str]) -> torch.Tensor:
        """Rows for `prompts` (N, E); KeyError naming the first unknown prompt."""
        index = {p: i for i, p in enumerate(self.prompts)}
        rows = []
        for p in prompts:
            if p not in index:
                raise KeyError(p)
            rows.append(index[p])
        return self.embeddings[rows]


def save_embeddings(path: str | Path, prompts: list[str], tensor: torch.Tensor,
                    encoder_config: dict[str, Any] | None = None) -> Path:
    """Write prompts + embeddings (K, E) + encoder config to a safetensors file atomically; return its path."""
    from safetensors.torch import save_file

    path = Path(path)
    prompts = [str(p) for p in prompts]
    if tensor.ndim != 2 or tensor.shape[0] != len(prompts):
        raise ValueError(f"embeddings must be (K={len(prompts)}, E), got {tuple(tensor.shape)}")
    if len(set(prompts)) != len(prompts):
        raise ValueError("duplicate prompts")
    metadata = {"format": FORMAT, "prompts": json.dumps(prompts), "encoder": json.dumps(encoder_config or {})}
    data = tensor.detach().to(torch.float32).cpu().contiguous()
    with atomic_path(path) as tmp:
        save_file({"embeddings": data}, str(tmp), metadata=metadata)
    return path


def load_embeddings(path: str | Path) -> EmbeddingSet:
    """Read a file written by `save_embeddings`; InputError/CheckpointError naming the file if bad."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "embeddings file not found")
    tensors, metadata = read_safetensors(path, "embeddings file")
    if "embeddings" not in tensors:
        raise CheckpointError(path, "no 'embeddings' tensor")
    embeddings = tensors["embeddings"]
    try:
        prompts = json.loads(metadata["prompts"])
        encoder_config = json.loads(metadata.get("encoder", "{}"))
    except (KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(path, f"missing or invalid 'prompts' metadata: {exc}") from exc
    if embeddings.ndim != 2 or embeddings.shape[0] != len(prompts):
        raise CheckpointError(path, f"{len(prompts)} prompts but embeddings of shape {tuple(embeddings.shape)}")
    return EmbeddingSet([str(p) for p in prompts], embeddings.float(), encoder_config)


def cache_key(encoder_config: dict[str, Any], prompt: str) -> str:
    """Stable hex key for (encoder config, prompt)."""
    blob = json.dumps({"encoder": encoder_config, "prompt": prompt}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class CachedTextEncoder(TextEncoder):
    """Wrap an encoder with an in-memory LRU (and optional disk folder) keyed by (encoder config, prompt)."""

    def __init__(self, encoder: TextEncoder, max_items: int = 4096, cache_dir: str | Path | None = None) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.max_items = int(max_items)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._memory: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        """Embedding size of the wrapped encoder."""
        return self.encoder.dim

    def config(self) -> dict[str, Any]:
        """The wrapped encoder's config (the cache changes no result)."""
        return self.encoder.config()

    def frozen_parameters(self) -> list[torch.nn.Parameter]:
        """The wrapped encoder's parameters."""
        return self.encoder.frozen_parameters()

    def _get(self, key: str) -> torch.Tensor | None:
        """Look a key up in memory, then on disk; None if absent."""
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if self.cache_dir is not None and (self.cache_dir / f"{key}.safetensors").is_file():
            try:
                row = read_safetensors(self.cache_dir / f"{key}.safetensors", "cache entry")[0]["embedding"]
            except (CheckpointError, KeyError) as exc:  # a damaged cache entry is recomputed
                logger.warning("ignoring unreadable cache entry %s (%s)", key, exc)
                return None
            self._put(key, row, to_disk=False)
            return row
        return None

    def _put(self, key: str, row: torch.Tensor, to_disk: bool = True) -> None:
        """Store one embedding (E,) in memory (evicting the oldest) and optionally on disk."""
        self._memory[key] = row
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_items:
            self._memory.popitem(last=False)
        if to_disk and self.cache_dir is not None:
            from safetensors.torch import save_file

            with atomic_path(self.cache_dir / f"{key}.safetensors") as tmp:
                save_file({"embedding": row.contiguous()}, str(tmp))

    def _encode(self, prompts: list[str]) -> torch.Tensor:
        """Serve cached rows; encode only the missing prompts in one batch (N, E)."""
        cfg = self.encoder.config()
        keys = [cache_key(cfg, p) for p in prompts]
        found = {k: row for k in dict.fromkeys(keys) if (row := self._get(k)) is not None}
        todo = [p for p, k in dict.fromkeys(zip(prompts, keys)) if k not in found]
        self.hits += len(prompts) - sum(1 for k in keys if k not in found)
        self.misses += len(todo)
        if todo:
            fresh = self.encoder.encode(todo)
            for p, row in zip(todo, fresh):
                key = cache_key(cfg, p)
                found[key] = row.clone()
                self._put(key, found[key])
        return torch.stack([found[k] for k in keys])
