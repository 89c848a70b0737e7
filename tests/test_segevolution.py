"""SegEVOLution / SegVol (seed 004): shapes, MoA identity path bit-exact on CT, modality routing to LoRA, every
prompt kind changes the output, checkpoint round trip, smoke training, predict keeps the input geometry."""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from conftest import tiny_train_config

from medvlseg.cli import main
from medvlseg.models import build_model, get_preset, load_model, save_model
from medvlseg.models.segevolution import SegEvolution, voxel_to_unit
from medvlseg.models.segevolution.moa import MoALinear

TINY = {"options.dim": 32, "options.depth": 2, "options.heads": 2, "options.decoder_dim": 16,
        "options.decoder_heads": 2, "options.prior_tokens": 2}
TEXT_DIM = 8


def tiny_model(preset: str = "segevolution", seed: int = 0, **changes: object) -> SegEvolution:
    """A seeded tiny light model (patch 8, width 32, depth 2) with random class embeddings, in eval mode."""
    torch.manual_seed(seed)
    options = {k if "." in k else f"options.{k}": v for k, v in changes.items()}
    model = build_model(get_preset(preset, light=True, text_dim=TEXT_DIM, **{**TINY, **options}))
    model.set_class_embeddings(torch.randn(4, TEXT_DIM))
    return model.eval()


def randomise_lora(model: torch.nn.Module, seed: int = 1) -> int:
    """Give every LoRA B a non-zero value (as after training); returns how many LoRA layers there are."""
    gen = torch.Generator().manual_seed(seed)
    layers = [m for m in model.modules() if isinstance(m, MoALinear)]
    with torch.no_grad():
        for layer in layers:
            for b in layer.lora_B.values():
                b.copy_(torch.randn(b.shape, generator=gen) * 0.5)
    return len(layers)


def copy_into(dst: torch.nn.Module, src: torch.nn.Module) -> None:
    """Load src's weights into dst; only LoRA parameters may be missing from src."""
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=False)
    assert not unexpected and missing and all(".lora_" in k for k in missing), (missing, unexpected)


@pytest.fixture()
def image() -> torch.Tensor:
    return torch.rand(2, 2, 16, 16, 24, generator=torch.Generator().manual_seed(3))


def test_shapes_contract_and_presets(image: torch.Tensor) -> None:
    model = tiny_model()
    assert model.activation == "sigmoid" and model.size_divisor == 8 and model.text_conditioned
    with torch.no_grad():
        assert model(image).shape == (2, 4, 16, 16, 24)
        assert model(image, torch.randn(3, TEXT_DIM)).shape == (2, 3, 16, 16, 24)  # free-text prompts
    with pytest.raises(ValueError, match="multiples of 8"):
        model(torch.rand(1, 2, 12, 16, 16))
    with pytest.raises(ValueError, match="unknown modality"):
        model(image, modality="pet")
    light = {n: build_model(get_preset(n, light=True)).parameter_counts()["trainable"] for n in ("segvol",
                                                                                                  "segevolution")}
    assert 0 < light["segvol"] < light["segevolution"] < 2_000_000  # MoA + priors add parameters; CPU-sized
    full = get_preset("segevolution")
    assert full.options["patch"] == 16 and full.options["dim"] == 768 and full.architecture == "segevolution"
    assert get_preset("segvol").options["moa"] is False and get_preset("segvol").options["priors"] is False


@pytest.mark.parametrize("priors", [False, True])
def test_identity_adapter_reproduces_the_base_model_bit_for_bit_on_ct(image: torch.Tensor, priors: bool) -> None:
    base = tiny_model(moa=False, priors=priors)
    moa = tiny_model(seed=5, priors=priors)
    copy_into(moa, base)
    assert randomise_lora(moa) == 2 * 4  # qkv, proj, fc1, fc2 in each of the 2 blocks
    with torch.no_grad():
        assert torch.equal(base(image), moa(image))  # default modality: ct
        assert torch.equal(base(image, modality="ct"), moa(image, modality=["ct", "CT"]))


def test_gate_routes_mri_inputs_to_lora(image: torch.Tensor) -> None:
    base = tiny_model(moa=False)
    moa = tiny_model(seed=5)
    copy_into(moa, base)
    with torch.no_grad():
        ref_mri = base(image, modality="mri")
        assert torch.equal(moa(image, modality="mri"), ref_mri)  # LoRA B is zero at initialisation
        randomise_lora(moa)
        ref_ct = base(image, modality="ct")
        out_mri = moa(image, modality="mri")
        assert (out_mri - ref_mri).abs().max() > 1e-3  # routed through LoRA
        mixed = moa(image, modality=["ct", "mri"])  # per-sample top-1 routing within one batch
    assert torch.equal(mixed[0], ref_ct[0])
    assert torch.allclose(mixed[1], out_mri[1], atol=1e-5) and not torch.allclose(mixed[1], ref_mri[1], atol=1e-3)
    moa.modality = "mri"  # the attribute drives the gate when no kwarg is given (sliding-window inference)
    with torch.no_grad():
        assert torch.equal(moa(image), out_mri)


def test_every_prompt_kind_changes_the_output(image: torch.Tensor) -> None:
    model = tiny_model()
    box_a = voxel_to_unit(torch.tensor([[[2, 2, 2], [10, 12, 14]]] * 2), image.shape[2:])  # (B, 2, 3)
    box_b = voxel_to_unit(torch.tensor([[[6, 1, 8], [15, 15, 23]]] * 2), image.shape[2:])
    pts = voxel_to_unit(torch.tensor([[[4, 8, 12], [12, 3, 20]]] * 2), image.shape[2:])  # (B, 2, 3)
    with torch.no_grad():
        ref = model(image)
        text = model(image, torch.randn(4, TEXT_DIM))
        box = model(image, boxes=box_a)
        box2 = model(image, boxes=box_b)
        pos = model(image, points=pts, point_labels=torch.ones(2, 2))
        neg = model(image, points=pts, point_labels=torch.zeros(2, 2))
        per_class = model(image, boxes=box_a.unsqueeze(1).expand(2, 4, 2, 3))
    for out in (text, box, box2, pos, neg):
        assert out.shape == ref.shape
    diff = lambda a, b: float((a - b).abs().max())  # noqa: E731
    assert diff(text, ref) > 1e-4 and diff(box, ref) > 1e-4 and diff(box, box2) > 1e-4
    assert diff(pos, ref) > 1e-4 and diff(pos, neg) > 1e-4
    assert torch.allclose(per_class, box, atol=1e-6)  # (B, 2, 3) is the same box for every class
    with pytest.raises(ValueError, match="point labels"):
        model(image, points=pts, point_labels=torch.full((2, 2), 2))


def test_checkpoint_round_trip(image: torch.Tensor, tmp_path: Path) -> None:
    model = tiny_model()
    randomise_lora(model)
    save_model(tmp_path / "m", model)
    again = load_model(tmp_path / "m")
    assert isinstance(again, SegEvolution) and again.config.options == model.config.options
    with torch.no_grad():
        for modality in ("ct", "mri"):
            assert torch.equal(model(image, modality=modality), again(image, modality=modality))


def test_fixed_batch_loss_decreases(tiny_cache: Path) -> None:
    from medvlseg.data.cache import list_cases
    from medvlseg.train.losses import partial_label_loss
    from medvlseg.train.sampling import PatchDataset
    from medvlseg.train.setup import build_run_model

    torch.manual_seed(0)
    model, _, _ = build_run_model(tiny_train_config(preset="segevolution", model=dict(TINY)), in_channels=2)
    ds = PatchDataset(tiny_cache, list_cases(tiny_cache, "training"), 32, 1.0, None, seed=0)
    batch = [ds[i] for i in range(2)]
    image, label = torch.stack([b["image"] for b in batch]), torch.stack([b["label"] for b in batch])
    annotated = torch.stack([b["annotated"] for b in batch])
    assert [b["modality"] for b in batch] == ["ct", "ct"]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = partial_label_loss(model(image, modality=[b["modality"] for b in batch]), label, annotated, "sigmoid")
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.fixture(scope="module")
def run_dir(tiny_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short light segevolution training run (4 epochs of 3 steps) on the tiny CT cache."""
    from medvlseg.train.trainer import Trainer

    run = tmp_path_factory.mktemp("segevo_run") / "run"
    config = tiny_train_config(preset="segevolution", model=dict(TINY), epochs=4, steps_per_epoch=3, lr=3e-3,
                               pos_ratio=1.0, val_every=4)
    Trainer(config, tiny_cache, run, progress=False).fit()
    return run


def test_trainer_smoke_run_lowers_the_loss(run_dir: Path) -> None:
    rows = list(csv.DictReader((run_dir / "log.csv").open()))
    losses = [float(r["loss"]) for r in rows]
    assert len(losses) == 4 and losses[-1] < losses[0], losses
    model = load_model(run_dir / "last")
    assert isinstance(model, SegEvolution)
    lora_b = [b for m in model.modules() if isinstance(m, MoALinear) for b in m.lora_B.values()]
    assert lora_b and all(torch.count_nonzero(b) == 0 for b in lora_b)  # CT-only data never reaches LoRA


def test_predict_writes_a_label_map_with_the_input_geometry(run_dir: Path, tiny_benchmark: Path,
                                                            tmp_path: Path) -> None:
    from medvlseg.io import Manifest

    case = Manifest.load(tiny_benchmark).split("test")[0]
    out = tmp_path / "pred.nii.gz"
    assert main(["predict", "-i", str(case.image), "-o", str(out), "-m", str(run_dir)]) == 0
    pred, src = nib.load(str(out)), nib.load(str(case.image))
    assert pred.shape == src.shape and np.allclose(pred.affine, src.affine, atol=1e-5)
    assert nib.aff2axcodes(pred.affine) == nib.aff2axcodes(src.affine)
    assert set(np.unique(np.asarray(pred.dataobj)).tolist()) <= {0, 1, 2}


def test_predict_with_box_point_prompt_and_modality_keeps_geometry(run_dir: Path, tiny_benchmark: Path,
                                                                   tmp_path: Path) -> None:
    from medvlseg.io import Manifest

    case = next(c for c in Manifest.load(tiny_benchmark).cases if c.meta["orientation"] != "RAS")
    src = nib.load(str(case.image))
    x, y, z = (s // 2 for s in src.shape)
    runs = {
        "box": ["--box", f"{x - 8},{y - 8},{z - 6},{x + 8},{y + 8},{z + 6}"],
        "point": ["--point", f"{x},{y},{z},1", "--point", f"{x - 5},{y},{z},0"],
        "text": ["--prompt", "left pulmonary artery", "--box", f"{x - 8},{y - 8},{z - 6},{x + 8},{y + 8},{z + 6}"],
        "mri": ["--modality", "mri", "--point", f"{x},{y},{z},1"],
    }
    probs = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.nii.gz"
        assert main(["predict", "-i", str(case.image), "-o", str(out), "-m", str(run_dir), "--probabilities",
                     "--classes", "5", *extra]) == 0, name
        pred = nib.load(str(out))
        assert pred.shape == src.shape and np.allclose(pred.affine, src.affine, atol=1e-5), name
        probs[name] = np.asarray(nib.load(str(out).replace(".nii.gz", "_probabilities.nii.gz")).dataobj)
    assert probs["text"].shape[-1] == 1 and probs["box"].shape[-1] == 4
    assert np.abs(probs["box"] - probs["point"]).max() > 1e-4
    assert np.abs(probs["mri"] - probs["point"]).max() > 1e-4  # modality priors differ


def test_prompt_errors_are_one_clear_message(run_dir: Path, tiny_benchmark: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    from medvlseg.io import Manifest

    image = str(Manifest.load(tiny_benchmark).cases[0].image)
    out = str(tmp_path / "p.nii.gz")
    for extra, message in ((["--box", "1,2,3"], "6 voxel coordinates"), (["--point", "1,2,3,5"], "label 1"),
                           (["--point", "1,2,999,1"], "outside the image grid"),
                           (["--modality", "pet"], "unknown modality")):
        assert main(["predict", "-i", image, "-o", out, "-m", str(run_dir), *extra]) == 1, extra
        assert message in capsys.readouterr().err, extra
        assert not Path(out).exists()
    assert main(["predict", "-i", str(tiny_benchmark), "-o", str(tmp_path / "many"), "-m", str(run_dir),
                 "--box", "1,1,1,5,5,5"]) == 1
    assert "single input" in capsys.readouterr().err


def test_file_voxels_map_to_canonical_unit_coordinates(tmp_path: Path) -> None:
    from medvlseg.infer.spatial_prompts import to_unit
    from medvlseg.io import read_image, write_image

    canonical = np.zeros((8, 6, 4), dtype=np.int16)
    canonical[1, 2, 3] = 1
    path = tmp_path / "lps.nii.gz"
    write_image(path, canonical, affine=np.diag([2.0, 2.0, 3.0, 1.0]), orientation="LPS", dtype=np.int16)
    stored = np.asarray(nib.load(str(path)).dataobj)
    file_voxel = np.argwhere(stored == 1)  # where the marked voxel sits in the file's own array
    assert file_voxel.tolist() != [[1, 2, 3]]  # LPS flips the first two axes
    unit = to_unit(file_voxel.astype(float), read_image(path), "lps.nii.gz")
    assert np.allclose(unit, (np.array([[1, 2, 3]]) + 0.5) / np.array([8, 6, 4]))


def test_training_prompts_come_from_the_label_and_train_the_prompt_embeddings() -> None:
    from medvlseg.models.segevolution.train_prompts import draw_prompts, training_prompts

    label = torch.zeros(2, 16, 16, 16, dtype=torch.long)
    label[0, 2:6, 3:9, 4:12] = 1  # class 0 in sample 0 only
    label[1, 10:14, 1:3, 0:5] = 3  # class 2 in sample 1 only
    drawn = draw_prompts(label, 4, torch.Generator().manual_seed(0), jitter=0.0)
    unit = voxel_to_unit(torch.tensor([[2, 3, 4], [5, 8, 11]]), (16, 16, 16))
    assert torch.allclose(drawn["boxes"][0, 0], unit)  # tight box of the class voxels (voxel centres)
    assert torch.equal(drawn["boxes"][0, 1], torch.tensor([[0.0] * 3, [1.0] * 3]))  # absent: the whole window
    pos = (drawn["points"][1, 2, 0] * 16 - 0.5).round().long()
    neg = (drawn["points"][1, 2, 1] * 16 - 0.5).round().long()
    assert label[1, pos[0], pos[1], pos[2]] == 3 and label[1, neg[0], neg[1], neg[2]] != 3
    assert drawn["point_labels"][1, 2].tolist() == [1, 0] and drawn["point_labels"][1, 0].tolist() == [-1, 0]
    steps = [training_prompts(label, 4, seed=0, step=s, probability=0.5) for s in range(12)]
    assert any(steps) and not all(steps)  # about half of the steps carry spatial prompts
    assert all(a.keys() == b.keys() for a, b in zip(steps, [training_prompts(label, 4, 0, s, 0.5)
                                                             for s in range(12)]))  # deterministic per step
    model = tiny_model().train()
    image = torch.rand(2, 2, 16, 16, 16)
    model(image, **draw_prompts(label, 4, torch.Generator().manual_seed(1))).sigmoid().mean().backward()
    enc = model.prompt_encoder
    assert enc.corner_embed.weight.grad.abs().sum() > 0 and enc.point_embed.weight.grad.abs().sum() > 0
