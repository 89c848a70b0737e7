"""Offline CLIP tokenizer: transformers' CLIPTokenizer built from OpenAI's BPE merges file.

The BPE vocabulary (`bpe_simple_vocab_16e6.txt.gz`) is read from the `openai-clip` source archive that `make`
downloads to `<venv>/share/medvlseg/` (or from the path in the environment variable MEDVLSEG_CLIP_BPE, which may
name the .txt.gz itself or an archive holding it). The package itself is never imported. Hand-written here (no
library does it): turning that merges file into the vocab/merges pair exactly as OpenAI's `simple_tokenizer` does
(256 byte tokens, their '</w>' forms, the first 49152-256-2 merges joined, then the two special tokens: 49408 ids).
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

from medvlseg.errors import InputError

logger = logging.getLogger(__name__)

BPE_ENV = "MEDVLSEG_CLIP_BPE"
SDIST_NAME = "openai-clip-1.0.1.tar.gz"
BPE_MEMBER = "clip/bpe_simple_vocab_16e6.txt.gz"
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
VOCAB_SIZE = 49408
CONTEXT_LENGTH = 77


def default_bpe_source() -> Path:
    """Return the BPE source to use: $MEDVLSEG_CLIP_BPE if set, else the sdist under sys.prefix/share/medvlseg."""
    env = os.environ.get(BPE_ENV)
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "medvlseg" / SDIST_NAME


def _read_bpe_bytes(source: Path) -> bytes:
    """Return the gzip-compressed merges file from a .txt.gz path or from a (tar.gz) archive that holds it."""
    if not source.exists():
        raise InputError(source, f"CLIP BPE vocabulary not found (run `make venv`, or set {BPE_ENV})")
    if source.name.endswith(".txt.gz"):
        return source.read_bytes()
    try:
        with tarfile.open(source, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(BPE_MEMBER)]
            if not members:
                raise InputError(source, f"archive holds no {BPE_MEMBER}")
            handle = tar.extractfile(members[0])
            assert handle is not None  # a regular file member always has a handle
            return handle.read()
    except tarfile.TarError as exc:
        raise InputError(source, f"not a readable tar archive: {exc}") from exc


def read_bpe_merges(source: str | Path | None = None) -> list[tuple[str, str]]:
    """Read OpenAI's merges list (49152-256-2 merges, as `simple_tokenizer` keeps them) from `source`."""
    path = Path(source) if source is not None else default_bpe_source()
    try:
        text = gzip.decompress(_read_bpe_bytes(path)).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot decompress the CLIP BPE merges file: {exc}") from exc
    lines = text.split("\n")[1 : 49152 - 256 - 2 + 1]  # skip the version header line, as OpenAI does
    merges = [tuple(line.split()) for line in lines]
    if len(merges) != 49152 - 256 - 2 or any(len(m) != 2 for m in merges):
        raise InputError(path, f"unexpected CLIP BPE merges file ({len(merges)} merges)")
    return merges  # type: ignore[return-value]


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """Build OpenAI CLIP's token→id vocabulary from its merges (bytes, bytes+'</w>', merges, SOT, EOT)."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    tokens = list(bytes_to_unicode().values())
    tokens += [t + "</w>" for t in tokens]
    tokens += ["".join(m) for m in merges]
    tokens += [SOT, EOT]
    return {tok: i for i, tok in enumerate(tokens)}


@functools.lru_cache(maxsize=4)
def _cached_vocab(source: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, int], ...]]:
    """Read and build (merges, vocab) once per source path (hashable form for the LRU cache)."""
    merges = read_bpe_merges(source)
    return tuple(merges), tuple(build_vocab(merges).items())


def build_clip_tokenizer(source: str | Path | None = None, model_max_length: int = CONTEXT_LENGTH) -> Any:
    """Return a transformers CLIPTokenizer equivalent to OpenAI's, built offline from the BPE merges file."""
    from transformers import CLIPTokenizer

    path = Path(source) if source is not None else default_bpe_source()
    merges, vocab_items = _cached_vocab(str(path))
    vocab = dict(vocab_items)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=model_max_length)
    if len(tokenizer) != VOCAB_SIZE or tokenizer.convert_tokens_to_ids(EOT) != VOCAB_SIZE - 1:
        raise InputError(path, f"CLIP tokenizer built with {len(tokenizer)} tokens, expected {VOCAB_SIZE}")
    logger.debug("built CLIP tokenizer from %s (%d tokens)", path, len(tokenizer))
    return tokenizer
