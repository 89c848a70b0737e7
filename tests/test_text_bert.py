"""BERT-family encoder from a tiny random model saved to a temp folder (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from medvlseg.errors import InputError
from medvlseg.text import get_text_encoder, text_encoder_from_config

WORDS = "a computerized tomography of left right pulmonary artery vein with small branches kidney photo".split()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Save a seeded 2-layer BERT (hidden 32) and a word-level BertTokenizer to a folder."""
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(folder))
    return folder


def test_shapes_pooling_and_normalisation(tiny_bert: Path) -> None:
    prompts = ["left pulmonary artery", "a computerized tomography of a right pulmonary vein with small branches"]
    mean = get_text_encoder("bert", path=tiny_bert, pooling="mean")
    cls = get_text_encoder("bert", path=tiny_bert, pooling="cls")
    unit = get_text_encoder("bert", path=tiny_bert, pooling="mean", normalize=True)
    e_mean, e_cls, e_unit = mean.encode(prompts), cls.encode(prompts), unit.encode(prompts)
    assert e_mean.shape == e_cls.shape == (2, 32) and mean.dim == 32
    assert e_mean.dtype == torch.float32
    assert not torch.allclose(e_mean, e_cls)
    assert not torch.allclose(e_mean.norm(dim=1), torch.ones(2), atol=1e-3)
    torch.testing.assert_close(e_unit.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(e_unit, torch.nn.functional.normalize(e_mean, dim=1))


def test_mean_pooling_ignores_padding(tiny_bert: Path) -> None:
    enc = get_text_encoder("bert", path=tiny_bert)
    alone = enc.encode(["pulmonary vein"])
    batched = enc.encode(["pulmonary vein", "a computerized tomography of a left pulmonary artery with small branches"])
    torch.testing.assert_close(alone[0], batched[0], atol=1e-5, rtol=1e-5)


def test_mean_pooling_matches_manual(tiny_bert: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    enc = get_text_encoder("bert", path=tiny_bert)
    tok = AutoTokenizer.from_pretrained(str(tiny_bert))
    model = AutoModel.from_pretrained(str(tiny_bert)).eval()
    ids = tok(["right pulmonary artery"], return_tensors="pt")
    with torch.no_grad():
        expected = model(**ids).last_hidden_state[0].mean(dim=0)  # no padding: plain mean over tokens
    torch.testing.assert_close(enc.encode(["right pulmonary artery"])[0], expected, atol=1e-5, rtol=1e-5)


def test_frozen_and_rebuild_from_config(tiny_bert: Path) -> None:
    enc = get_text_encoder("bert", path=tiny_bert, pooling="cls")
    params = enc.frozen_parameters()
    assert params and not any(p.requires_grad for p in params)
    assert not enc.model.training
    assert not isinstance(enc, torch.nn.Module)  # cannot leak into a model's .parameters()
    out = enc.encode(["kidney"])
    assert not out.requires_grad and not out.is_inference()
    again = text_encoder_from_config(enc.config())
    torch.testing.assert_close(again.encode(["kidney"]), out)


def test_missing_or_bad_folder(tmp_path: Path, tiny_bert: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        get_text_encoder("bert", path=tmp_path / "absent")
    with pytest.raises(InputError, match="config.json"):
        get_text_encoder("bert", path=tmp_path)
    with pytest.raises(TypeError):
        get_text_encoder("bert", path=tiny_bert).encode("a string")  # type: ignore[arg-type]
