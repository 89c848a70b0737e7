"""MRI-like phantom modality (seed 004): same anatomy as the CT of a seed, a non-monotonic intensity mapping, the
modality recorded in the manifest and cache, and routed to the segevolution model's LoRA adapter in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_train_config

from medvlseg.data.phantom import generate_case, get_preset
from medvlseg.io import Manifest


def test_same_anatomy_different_non_monotonic_intensities() -> None:
    config = get_preset("tiny")
    ct, mri = generate_case(config, 7), generate_case(config, 7, modality="mri")
    again = generate_case(config, 7)
    assert np.array_equal(ct.image, again.image)  # CT draws are unaffected by the option
    assert np.array_equal(ct.label, mri.label) and np.array_equal(ct.lung, mri.lung)
    assert ct.meta["orientation"] == mri.meta["orientation"] and "modality" not in ct.meta
    assert mri.meta["modality"] == "mri" and not np.array_equal(ct.image, mri.image)
    hu, sig = ct.meta["hu"], mri.meta["mri_signal"]
    # non-monotonic: fat is darker than muscle in CT (HU) but brighter in the MRI-like signal; cortical bone is
    # the brightest CT tissue but darker than marrow (trabecular) and muscle here
    assert hu["fat"] < hu["muscle"] and sig["fat"] > sig["muscle"]
    assert hu["cortical"] > hu["trabecular"] and sig["cortical"] < sig["trabecular"]
    body = (mri.lung == 0) & (mri.label == 0)
    corr = np.corrcoef(ct.image[body].astype(float), mri.image[body].astype(float))[0, 1]
    assert corr < 0.95  # not a monotonic rescaling of the CT
    with pytest.raises(ValueError, match="modality"):
        generate_case(config, 7, modality="pet")


@pytest.fixture(scope="module")
def mixed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny benchmark alternating CT (even cases) and MRI-like (odd cases), preprocessed."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.preprocess import PreprocessConfig

    root = tmp_path_factory.mktemp("mixed")
    manifest = write_benchmark(root / "bench", "tiny", seed=0, modality="mixed")
    report = build_cache(manifest, root / "cache", PreprocessConfig(), workers=1, progress=False)
    assert not report.failed, report.failed  # the unchanged lung split copes with MRI-like cases
    loaded = Manifest.load(manifest)
    assert loaded.modality == "CT+MRI-like"
    assert [c.meta.get("modality", "ct") for c in loaded.cases] == ["ct", "mri", "ct", "mri", "ct"]
    return root / "cache"


def test_patches_carry_modality_and_training_reaches_lora(mixed_cache: Path, tmp_path: Path) -> None:
    from medvlseg.data.cache import list_cases
    from medvlseg.models import load_model
    from medvlseg.models.segevolution.moa import MoALinear
    from medvlseg.train.sampling import PatchDataset
    from medvlseg.train.trainer import Trainer

    names = list_cases(mixed_cache, "training")
    ds = PatchDataset(mixed_cache, names, 32, 0.5, None, seed=0)
    assert {ds[i]["modality"] for i in range(12)} == {"ct", "mri"}
    opts = {"options.dim": 32, "options.depth": 1, "options.heads": 2, "options.decoder_dim": 16,
            "options.decoder_heads": 2}
    config = tiny_train_config(preset="segevolution", model=opts, epochs=1, steps_per_epoch=3, val_every=0, seed=1)
    drawn = PatchDataset(mixed_cache, names, 32, config.pos_ratio, config.augment, seed=config.seed)
    assert "mri" in {drawn[i]["modality"] for i in range(config.steps_per_epoch * config.batch_size)}
    Trainer(config, mixed_cache, tmp_path / "run", progress=False).fit()
    model = load_model(tmp_path / "run" / "last")
    lora_b = [b for m in model.modules() if isinstance(m, MoALinear) for b in m.lora_B.values()]
    assert lora_b and all(torch.count_nonzero(b) > 0 for b in lora_b)  # MRI patches were routed to LoRA
