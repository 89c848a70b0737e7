"""Embedding files (safetensors + metadata), the precomputed encoder and the LRU cache wrapper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from medvlseg.errors import CheckpointError, InputError
from medvlseg.text import CachedTextEncoder, get_text_encoder, load_embeddings, save_embeddings
from medvlseg.text.base import TextEncoder


class CountingEncoder(TextEncoder):
    """Deterministic toy encoder: hashes characters into 8 features; counts the prompts it encodes."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def dim(self) -> int:
        return 8

    def _encode(self, prompts: list[str]) -> torch.Tensor:
        self.calls.extend(prompts)
        out = torch.zeros(len(prompts), 8)
        for i, p in enumerate(prompts):
            for j, ch in enumerate(p):
                out[i, (ord(ch) + j) % 8] += 1.0
        return out

    def config(self) -> dict[str, Any]:
        return {"name": self.name}


def test_round_trip(tmp_path: Path) -> None:
    prompts = ["left pulmonary artery", "right pulmonary vein", "ünïcode prompt"]
    emb = torch.randn(3, 5, generator=torch.Generator().manual_seed(0)).to(torch.float16)
    path = save_embeddings(tmp_path / "sub" / "e.safetensors", prompts, emb, {"name": "clip", "path": "/x"})
    loaded = load_embeddings(path)
    assert loaded.prompts == prompts and loaded.encoder_config == {"name": "clip", "path": "/x"}
    assert loaded.embeddings.dtype == torch.float32
    torch.testing.assert_close(loaded.embeddings, emb.float())
    torch.testing.assert_close(loaded.lookup([prompts[2], prompts[0]]), emb.float()[[2, 0]])
    assert [p.name for p in path.parent.iterdir()] == ["e.safetensors"]  # no temp files left

    enc = get_text_encoder("precomputed", path=path)
    assert enc.dim == 5 and enc.prompts == prompts
    torch.testing.assert_close(enc.encode([prompts[1], prompts[1]]), emb.float()[[1, 1]])
    with pytest.raises(InputError, match="'kidney'"):
        enc.encode(["kidney"])
    with pytest.raises(InputError, match="/x: CLIP model not found"):  # fallback = the recorded encoder
        get_text_encoder("precomputed", path=path, fallback=True).encode(["kidney"])
    bare = save_embeddings(tmp_path / "bare.safetensors", prompts, emb)
    with pytest.raises(InputError, match="no usable text encoder"):
        get_text_encoder("precomputed", path=bare, fallback=True).encode(["kidney"])


def test_save_rejects_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_embeddings(tmp_path / "e.safetensors", ["a", "b"], torch.zeros(3, 4))
    with pytest.raises(ValueError):
        save_embeddings(tmp_path / "e.safetensors", ["a", "a"], torch.zeros(2, 4))
    assert not any(tmp_path.iterdir())


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_embeddings(tmp_path / "absent.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 40)
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_embeddings(junk)
    from safetensors.torch import save_file

    save_file({"embeddings": torch.zeros(2, 3)}, str(tmp_path / "nometa.safetensors"))
    with pytest.raises(CheckpointError, match="prompts"):
        load_embeddings(tmp_path / "nometa.safetensors")
    save_file({"embeddings": torch.zeros(2, 3)}, str(tmp_path / "short.safetensors"),
              metadata={"prompts": json.dumps(["only one"])})
    with pytest.raises(CheckpointError, match="1 prompts"):
        load_embeddings(tmp_path / "short.safetensors")


def test_lru_cache_memory_and_disk(tmp_path: Path) -> None:
    inner = CountingEncoder()
    cached = CachedTextEncoder(inner, max_items=2, cache_dir=tmp_path / "cache")
    first = cached.encode(["a", "b", "a"])
    assert inner.calls == ["a", "b"]  # duplicates encoded once
    torch.testing.assert_close(first, inner.encode(["a", "b", "a"]))
    inner.calls.clear()
    cached.encode(["b", "a"])
    assert inner.calls == []
    cached.encode(["c"])  # evicts "b" from memory (max 2), but disk keeps it
    assert len(cached._memory) == 2 and len(list((tmp_path / "cache").iterdir())) == 3
    fresh = CachedTextEncoder(inner, cache_dir=tmp_path / "cache")
    torch.testing.assert_close(fresh.encode(["b"]), inner.encode(["b"]))
    assert inner.calls == ["c", "b"]  # the fresh wrapper read "b" from disk; only the direct call encoded it
    assert cached.config() == inner.config() and cached.dim == 8
