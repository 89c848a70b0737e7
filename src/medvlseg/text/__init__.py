"""Frozen text encoders (minilm, clip, bert, precomputed), prompt templates and the embedding cache.

Public API: `get_text_encoder(name, **kwargs) -> TextEncoder` (`.encode(list[str]) -> (N, E)`, `.dim`, `.name`,
`.config()`, `.frozen_parameters()`), `text_encoder_from_config(cfg)`, `class_prompts(classes, template)`,
`class_names(3|5)`, `save_embeddings` / `load_embeddings`, `encode_class_embeddings`. Heavy imports
(transformers) happen only when an encoder is built.
"""

from __future__ import annotations

from medvlseg.text.base import (
    DEFAULT_ENCODER,
    TextEncoder,
    available_text_encoders,
    get_text_encoder,
    register_text_encoder,
    text_encoder_from_config,
)
from medvlseg.text.cache import CachedTextEncoder, EmbeddingSet, load_embeddings, save_embeddings
from medvlseg.text.prompts import (
    CLASSES_3,
    CLASSES_5,
    DEFAULT_TEMPLATE,
    TEMPLATES,
    class_names,
    class_prompts,
)

__all__ = [
    "CLASSES_3",
    "CLASSES_5",
    "DEFAULT_ENCODER",
    "DEFAULT_TEMPLATE",
    "TEMPLATES",
    "CachedTextEncoder",
    "EmbeddingSet",
    "TextEncoder",
    "available_text_encoders",
    "class_names",
    "class_prompts",
    "encode_class_embeddings",
    "get_text_encoder",
    "load_embeddings",
    "register_text_encoder",
    "save_embeddings",
    "text_encoder_from_config",
]


def encode_class_embeddings(encoder: TextEncoder, classes: list[str], template: str = DEFAULT_TEMPLATE,
                            path: str | None = None) -> EmbeddingSet:
    """Encode one prompt per class (K, E); if `path` is given also save them (safetensors) for predict."""
    prompts = class_prompts(classes, template)
    embeddings = encoder.encode(prompts)
    if path is not None:
        save_embeddings(path, prompts, embeddings, encoder.config())
    return EmbeddingSet(prompts, embeddings, encoder.config())
