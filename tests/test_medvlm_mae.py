"""Med-VLM's in-house ViT (issue 19): 2D engine-slice task labels, MAE pre-training learns (reconstruction floor on
unseen slices), shipped/regenerated weights are checksum- and shape-checked, frozen text features are cached."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from medvlseg.data.phantom import tissues as T
from medvlseg.data.phantom.generator import PhantomCase
from medvlseg.data.slices2d import ORGANS, SliceSet, build_slice_set, case_slices, organ_masks
from medvlseg.errors import CheckpointError, ConfigError, InputError
from medvlseg.models import build_model, get_preset
from medvlseg.models.medvlm.options import ImageEncoderOptions
from medvlseg.models.medvlm.pretrained import resolve_vit_weights, shipped_dir
from medvlseg.train.mae import MAEConfig, export_vit, mae_loss, mae_model, mean_fill_loss, pretrain_mae

TINY_TEXT = {"name": "random_bert", "hidden": 32, "layers": 1, "heads": 2, "mlp_dim": 64}
TINY_VIT = ImageEncoderOptions(patch=8, dim=32, depth=1, heads=2, mlp_dim=64, image_size=32)


@pytest.fixture(scope="module")
def engine_slices() -> tuple[SliceSet, SliceSet]:
    """Two engine cases for training, one unseen case (all 32 x 32 centre crops)."""
    return (build_slice_set([777, 778], ["arterial", "random"], size=32),
            build_slice_set([779], ["none"], size=32))


def test_organ_masks_follow_the_tissue_map() -> None:
    tissue = np.array([T.MYOCARDIUM, T.LA, T.LUNG, T.NODULE, T.AORTA, T.AIRWAY_LUMEN, T.AIRWAY_WALL, T.PULM_ARTERY,
                       T.PULM_VEIN, T.FAT, T.SVC, T.AIRWAY_WALL], dtype=np.uint8).reshape(12, 1, 1)
    label = np.isin(tissue, [T.PULM_ARTERY]) * 1 + np.isin(tissue, [T.PULM_VEIN]) * 2
    label[11] = 1  # an artery voxel inside an airway wall: the vessel wins
    airway = np.isin(tissue, (T.AIRWAY_LUMEN, T.AIRWAY_WALL)).astype(np.uint8)
    case = PhantomCase(image=np.zeros((12, 1, 1), np.int16), label=label.astype(np.uint8), lung=airway * 0,
                       airway=airway, side=airway * 0, affine=np.eye(4), spacing=(1.0, 1.0, 1.0), tissue=tissue)
    got = organ_masks(case)[:, :, 0, 0]  # (organs, 12)
    expected = {"heart": [0, 1], "lungs": [2, 3], "aorta": [4], "airways": [5, 6], "pulmonary artery": [7, 11],
                "pulmonary vein": [8]}
    for k, organ in enumerate(ORGANS):
        assert np.flatnonzero(got[k]).tolist() == expected[organ], organ
    with pytest.raises(InputError, match="tissue map"):
        organ_masks(replace(case, tissue=None))


def test_engine_slices_have_every_organ_and_unit_range(engine_slices: tuple[SliceSet, SliceSet]) -> None:
    train, _ = engine_slices
    assert train.images.shape[1:] == (1, 32, 32) and train.masks.shape[1:] == (len(ORGANS), 32, 32)
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert train.masks.sum(axis=1).max() <= 1  # organs do not overlap
    assert (train.masks.sum(axis=(0, 2, 3)) > 0).all()  # the CTA field of view holds all six
    assert [c["phase"] for c in train.cases] == ["arterial", "random"]
    assert len(train.case_slices(0)) + len(train.case_slices(1)) == len(train)


def test_case_slices_pad_and_crop_keep_labels_aligned() -> None:
    tissue = np.full((40, 20, 3), T.FAT, np.uint8)
    tissue[5:9, 3:6] = T.AORTA  # crop removes 4 columns each side along x, pad adds 6 along y
    case = PhantomCase(image=np.where(tissue == T.AORTA, 300, 0).astype(np.int16), label=np.zeros_like(tissue),
                       lung=np.zeros_like(tissue), airway=np.zeros_like(tissue), side=np.zeros_like(tissue),
                       affine=np.eye(4), spacing=(1.0, 1.0, 1.0), tissue=tissue)
    images, masks = case_slices(case, size=32)
    aorta = masks[:, ORGANS.index("aorta")]
    assert images.shape == (3, 1, 32, 32) and np.argwhere(aorta[0]).min(0).tolist() == [1, 9]
    assert np.allclose(images[0, 0][aorta[0] > 0], 0.65) and images[0, 0, 0, 0] == 0.0  # 300 HU; air padding


def test_mae_loss_drops_below_the_floor_on_unseen_slices(engine_slices: tuple[SliceSet, SliceSet],
                                                         tmp_path: Path) -> None:
    train, unseen = engine_slices
    cfg = MAEConfig(steps=150, batch=16, lr=2e-3, warmup=10, decoder_dim=32, decoder_depth=1, decoder_heads=2,
                    decoder_mlp_dim=64, log_every=50, save_every=75)
    torch.manual_seed(0)
    init = mae_loss(mae_model(TINY_VIT, cfg), unseen.images)
    model = pretrain_mae(train.images, unseen.images, TINY_VIT, cfg, tmp_path, progress=False)
    trained = mae_loss(model, unseen.images)
    floor = mean_fill_loss(model, unseen.images)  # masked patches filled with the visible mean
    log = np.genfromtxt(tmp_path / "log.csv", delimiter=",", names=True)
    assert log["loss"][-1] < log["loss"][0]
    assert trained < 0.8 * init and trained < 0.8 * floor, (init, floor, trained)
    assert (tmp_path / "state.safetensors").is_file()  # resumable: a finished run restarts at its last step
    again = pretrain_mae(train.images, unseen.images, TINY_VIT, cfg, tmp_path, progress=False)
    assert mae_loss(again, unseen.images) == pytest.approx(trained, rel=1e-5)


def _tiny_medvlm(weights: str, dim: int = 32) -> torch.nn.Module:
    """Light medvlm (1 channel) with the tiny ViT shape (width `dim`) and `weights`."""
    image = {f"options.image.{k}": v for k, v in vars(replace(TINY_VIT, dim=dim, weights=weights)).items()}
    return build_model(get_preset("medvlm", light=True, in_channels=1, text_dim=32, **image,
                                  **{"options.text": TINY_TEXT}))


def test_exported_weights_load_verified_and_reject_wrong_shape_or_bytes(tmp_path: Path) -> None:
    torch.manual_seed(1)
    mae = mae_model(TINY_VIT, MAEConfig(decoder_dim=32, decoder_depth=1, decoder_heads=2))
    path = tmp_path / "vit.safetensors"
    card = export_vit(mae, path, {"image": vars(TINY_VIT)})
    assert card["sha256"] and path.with_suffix(".json").is_file()
    model = _tiny_medvlm(str(path))
    got = model.image_encoder.vit.state_dict()["layers.0.mlp.fc1.weight"]
    assert torch.equal(got, mae.state_dict()["vit.layers.0.mlp.fc1.weight"].half().float())
    with pytest.raises(ConfigError, match=r"image.dim: 32 \(model has 48\)"):
        _tiny_medvlm(str(path), dim=48)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        _tiny_medvlm(str(path))
    with pytest.raises(InputError, match="safetensors"):
        resolve_vit_weights(str(tmp_path / "vit.pt"), TINY_VIT)
    with pytest.raises(ConfigError, match="unknown shipped"):
        shipped_dir("imagenet")


def test_shipped_mae_weights_pass_their_checksum() -> None:
    from medvlseg.experiments.medvlm2d import VIT
    from medvlseg.models.medvlm.pretrained import read_card

    path = resolve_vit_weights("mae", VIT)  # sha256 + shape against vit.json
    card = read_card(path.with_suffix(".json"))
    assert card["measured"]["val_loss_final"] < 0.8 * card["measured"]["val_loss_init"]
    with pytest.raises(ConfigError, match="image.dim"):
        resolve_vit_weights("mae", TINY_VIT)


def test_frozen_text_features_are_computed_once_and_refreshed_on_new_prompts() -> None:
    torch.manual_seed(0)
    model = _tiny_medvlm("")
    model.text_encoder.bert.requires_grad_(False)
    for p in model.text_encoder.parameters():
        p.requires_grad_(False)  # no text tuning: the cache is used
    first = model.encode_prompts()[0]
    assert model._text_cache is not None and torch.equal(model.encode_prompts()[0], first)
    model.set_prompts(["left lung", "airways", "heart", "aorta"])
    assert not torch.equal(model.encode_prompts()[0], first)
    with torch.no_grad():
        fresh = model.text_proj(model.text_encoder(model.prompt_ids, model.prompt_mask))
    assert torch.allclose(model.encode_prompts()[0], fresh)
