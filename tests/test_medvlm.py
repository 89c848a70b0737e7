"""Med-VLM (seed 003): mixer/decoder shapes, LoRA starts at the frozen model, what trains, parameter ratio,
checkpoints (left-out frozen weights + checksum), description prompts, loss goes down, train → predict."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from conftest import fixed_batch_losses, tiny_train_config

from medvlseg.cli import main
from medvlseg.errors import CheckpointError, ConfigError, InputError
from medvlseg.io import Manifest
from medvlseg.models import build_model, get_preset, load_model, save_model
from medvlseg.models.medvlm.decoder import MaskDecoder
from medvlseg.models.medvlm.encoders import ImageEncoder, TextTower
from medvlseg.models.medvlm.mixer import FeatureMixer
from medvlseg.models.medvlm.options import default_options
from medvlseg.text.descriptions import describe
from medvlseg.train.setup import build_run_model
from medvlseg.train.trainer import Trainer

TINY_TEXT = {"name": "random_bert", "hidden": 32, "layers": 1, "heads": 2, "mlp_dim": 64}
TRAINABLE_PARTS = ("image_proj.", "text_proj.", "mixer.", "decoder.", "class_query")


def tiny_model(**options: object) -> torch.nn.Module:
    """Light medvlm with a tiny random BERT text model (fast; all weights stored in checkpoints)."""
    overrides = {"options.text": TINY_TEXT, "text_dim": 32, **{f"options.{k}": v for k, v in options.items()}}
    return build_model(get_preset("medvlm", light=True, **overrides))


def test_mixer_and_decoder_shapes() -> None:
    torch.manual_seed(0)
    text, image = torch.randn(6, 5, 32), torch.randn(6, 16, 32)
    pad = torch.zeros(6, 5, dtype=torch.bool)
    pad[:, 3:] = True
    mixer = FeatureMixer(32, 4, 64, depth=4)
    fused_text, fused_image = mixer(text, image, pad)
    assert fused_text.shape == (6, 5, 32) and fused_image.shape == (6, 16, 32)
    masks = MaskDecoder(32, 4, patch=8)(fused_text, fused_image, (4, 4), pad)
    assert masks.shape == (6, 32, 32) and torch.isfinite(masks).all()
    # padding really is ignored: changing padded tokens changes nothing
    text2 = text.clone()
    text2[:, 3:] = 100.0
    assert torch.allclose(mixer(text2, image, pad)[1], fused_image, atol=1e-5)
    assert not torch.allclose(mixer(text2, image, None)[1], mixer(text, image, None)[1], atol=1e-3)


def test_forward_is_slice_by_slice_and_3d_shaped() -> None:
    torch.manual_seed(0)
    model = tiny_model().eval()
    x = torch.rand(2, 2, 16, 24, 3)
    with torch.no_grad():
        out = model(x)
        one = model.forward_slices(x[1:2, :, :, :, 2])  # (1, K, X, Y): slice z=2 of sample 1 alone
    assert out.shape == (2, 4, 16, 24, 3)
    assert torch.allclose(out[1, :, :, :, 2], one[0], atol=1e-5)
    with pytest.raises(ValueError, match="multiple of the patch"):
        model(torch.rand(1, 2, 12, 16, 2))
    with pytest.raises(ValueError, match="set_prompts"):
        model(x, torch.zeros(4, 32))


def test_lora_encoders_start_exactly_at_the_frozen_encoders() -> None:
    opts = default_options(light=True)
    slices = torch.rand(3, 2, 32, 32)
    outs = {}
    for lora in (False, True):
        torch.manual_seed(0)
        opts.lora_image = opts.lora_text = lora
        image_enc, text_enc = ImageEncoder(opts, 2).eval(), TextTower(opts).eval()  # MiniLM text model
        ids, mask = text_enc.tokenize(describe(["left pulmonary artery", "heart"], "complex"))
        with torch.no_grad():
            outs[lora] = (image_enc(slices), text_enc(ids, mask))
        encoders = (image_enc, text_enc)
    assert torch.equal(outs[True][0], outs[False][0])
    assert torch.equal(outs[True][1], outs[False][1])
    assert outs[True][1].shape[:2] == ids.shape and outs[True][1].shape[2] == 384
    # the check can fail: a non-zero B changes both outputs
    for enc in encoders:
        for name, p in enc.named_parameters():
            if "lora_B" in name:
                p.data.fill_(0.01)
    with torch.no_grad():
        assert not torch.allclose(encoders[0](slices), outs[False][0])
        assert not torch.allclose(encoders[1](ids, mask), outs[False][1])


def test_only_lora_mixer_and_decoder_train() -> None:
    torch.manual_seed(0)
    model = tiny_model()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith(TRAINABLE_PARTS) for n in trainable)
    assert all(p.requires_grad for n, p in model.named_parameters() if "lora_" in n)
    groups = model.parameter_groups()
    assert {"lora_image", "lora_text", "mixer", "decoder"} <= set(groups)
    counts = model.parameter_counts()
    assert counts["trainable"] == sum(groups.values())
    frozen = sum(p.numel() for n, p in model.named_parameters()
                 if n.startswith(("image_encoder.", "text_encoder.")) and "lora_" not in n)
    assert counts["frozen"] == frozen
    model.train()
    assert not model.image_encoder.vit.training and not model.text_encoder.bert.training and model.mixer.training
    loss = model(torch.rand(1, 2, 16, 16, 2)).sigmoid().mean()
    loss.backward()
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
    assert all(p.grad is not None for n, p in model.named_parameters() if "lora_A" in n)


def test_full_size_parameter_ratio_against_the_paper() -> None:
    """ViT-base + BERT-base-sized random text model: the paper reports ~5.2 M trainable of ~200 M."""
    text = {"options.text": {"name": "random_bert"}, "text_dim": 768}
    model = build_model(get_preset("medvlm", light=False, **text))
    counts, groups = model.parameter_counts(), model.parameter_groups()
    total = counts["trainable"] + counts["frozen"]
    print(f"medvlm full: trainable {counts['trainable']:,} of {total:,} ({groups})")
    assert 190e6 < total < 210e6  # ViT-base (86 M) + BERT-base (110 M) + heads
    assert groups["lora_image"] == groups["lora_text"] == 12 * 2 * 2 * 768 * 8  # r = 8 on query and value
    assert 0.01 < counts["trainable"] / total < 0.05  # paper: 5.2 / 200 = 2.6 %


def test_checkpoint_round_trip_leaves_out_the_sourced_text_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(get_preset("medvlm", light=True))  # MiniLM from its package: re-read at load
    for name, p in model.named_parameters():
        if p.requires_grad:
            p.data.add_(0.01 * torch.randn_like(p))
    keys = model.state_dict().keys()
    assert not any(k.startswith("text_encoder.bert.") and "lora_" not in k for k in keys)
    assert any(k.startswith("text_encoder.bert.") and "lora_" in k for k in keys)
    assert any(k.startswith("image_encoder.vit.embeddings") for k in keys)  # random ViT: stored
    tensors, _ = save_model(tmp_path / "m", model)
    assert tensors.stat().st_size < 5e6  # MiniLM alone would be ~90 MB
    loaded = load_model(tmp_path / "m")
    x = torch.rand(1, 2, 16, 16, 2)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded(x))
    state = model.state_dict()
    state["frozen_checksum"] = state["frozen_checksum"] + 1.0  # as if trained on a different MiniLM
    with pytest.raises(CheckpointError, match="checksum"):
        build_model(model.config).load_state_dict(state)


def test_descriptions_have_three_levels_and_a_user_file(tmp_path: Path) -> None:
    names = ["left pulmonary artery", "right pulmonary vein", "heart", "airways", "lungs"]
    assert describe(names, "none") == [""] * 5
    assert describe(names, "simple") == names
    complex_ = describe(names, "complex")
    assert all(len(c.split()) > 15 for c in complex_) and "left atrium" in complex_[1]
    user = tmp_path / "d.yaml"
    user.write_text("structures:\n  spleen:\n    complex: In the left upper abdomen under the diaphragm.\n")
    assert describe(["Spleen"], "simple", user) == ["spleen"]
    with pytest.raises(InputError, match="no 'complex' description of 'liver'"):
        describe(["liver"], "complex", user)
    with pytest.raises(ConfigError, match="description level"):
        describe(names, "long")


def test_none_level_gets_learned_class_queries(tiny_cache: Path, tmp_path: Path) -> None:
    config = tiny_train_config(preset="medvlm", epochs=1, steps_per_epoch=1, val_every=0,
                               **{"text.descriptions": "none"})
    Trainer(config, tiny_cache, tmp_path / "run", progress=False).fit()  # identical prompts are fine
    model = load_model(tmp_path / "run" / "best")
    assert model.opts.prompts == [""] * 4 and model.class_query is not None
    assert model.class_query.requires_grad and tuple(model.class_query.shape) == (4, model.opts.mixer_dim)
    with pytest.raises(ConfigError, match="one per trained class"):
        model.set_prompts(["heart"])


def test_loss_decreases_on_a_fixed_batch(tiny_cache: Path) -> None:
    torch.manual_seed(0)
    config = tiny_train_config(preset="medvlm", **{"text.descriptions": "simple"})
    model, _, emb = build_run_model(config, in_channels=2)
    assert emb is not None and model.opts.prompts == ["left pulmonary artery", "left pulmonary vein",
                                                      "right pulmonary artery", "right pulmonary vein"]
    losses = fixed_batch_losses(model, tiny_cache, 16, 25)
    assert losses[-1] < 0.8 * losses[0], losses


def test_train_then_predict_writes_a_3d_label_map_in_input_geometry(tiny_cache: Path, tiny_benchmark: Path,
                                                                   tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = tiny_train_config(preset="medvlm", epochs=1, steps_per_epoch=2, **{"text.descriptions": "complex"})
    result = Trainer(config, tiny_cache, run, progress=False).fit()
    assert result.epochs_done == 1 and (run / "best.json").is_file()
    prompts = json.loads((run / "prompts.json").read_text(encoding="utf-8"))
    assert prompts["descriptions"] == "complex" and "left atrium" in prompts["prompts"][1]
    case = Manifest.load(tiny_benchmark).split("test")[0]
    out = tmp_path / "pred.nii.gz"
    assert main(["predict", "-i", str(case.image), "-o", str(out), "-m", str(run), "--no-progress"]) == 0
    pred, src = nib.load(str(out)), nib.load(str(case.image))
    assert pred.shape == src.shape and len(pred.shape) == 3
    assert np.allclose(pred.affine, src.affine, atol=1e-5)
    assert set(np.unique(np.asarray(pred.dataobj)).tolist()) <= {0, 1, 2}
    # free-text prompts at predict time are tokenised into the model: one output label per prompt
    vein, artery = describe(["pulmonary vein", "pulmonary artery"], "complex")
    out2 = tmp_path / "prompted.nii.gz"
    assert main(["predict", "-i", str(case.image), "-o", str(out2), "-m", str(run), "--no-progress",
                 "--prompt", vein, "--prompt", artery]) == 0
    side = json.loads((tmp_path / "prompted.json").read_text(encoding="utf-8"))
    assert side["labels"] == {"0": "background", "1": vein, "2": artery}
    assert nib.load(str(out2)).shape == src.shape


def test_local_bert_folder_and_vit_file_are_loaded_not_stored(tmp_path: Path) -> None:
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel, BertTokenizer, ViTConfig, ViTModel

    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "left", "lung"]) + "\n")
    BertTokenizer(str(bert / "vocab.txt")).save_pretrained(str(bert))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=7, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(str(bert))
    vit_cfg = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=96, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=384)
    rgb = ViTModel(vit_cfg, add_pooling_layer=False).state_dict()
    weights = tmp_path / "vit.safetensors"
    save_file({f"vit.{k}": v.contiguous() for k, v in rgb.items()}, str(weights))
    overrides = {"options.text": {"name": "bert", "path": str(bert)}, "options.image.weights": str(weights),
                 "text_dim": 32}
    model = build_model(get_preset("medvlm", light=True, **overrides)).eval()
    proj = model.image_encoder.vit.embeddings.patch_embeddings.projection.weight
    key = "embeddings.patch_embeddings.projection.weight"
    assert torch.equal(proj[:, 0], rgb[key].sum(dim=1)) and not proj[:, 1].any()  # grey slice = RGB copy
    assert torch.equal(model.image_encoder.vit.state_dict()["layers.1.mlp.fc1.weight"], rgb["layers.1.mlp.fc1.weight"])
    keys = model.state_dict().keys()
    assert not any(k.startswith(("image_encoder.vit.", "text_encoder.bert.")) and "lora_" not in k for k in keys)
    save_model(tmp_path / "m", model)
    x = torch.rand(1, 2, 16, 16, 2)
    with torch.no_grad():
        assert torch.equal(model(x), load_model(tmp_path / "m")(x))
    rgb["layers.1.mlp.fc1.weight"] = rgb["layers.1.mlp.fc1.weight"] + 0.1  # the file changes after training
    save_file(rgb, str(weights))
    with pytest.raises(CheckpointError, match="checksum"):
        load_model(tmp_path / "m")
    weights.write_bytes(b"not safetensors")
    with pytest.raises(InputError, match="cannot read safetensors"):
        build_model(get_preset("medvlm", light=True, **overrides))
