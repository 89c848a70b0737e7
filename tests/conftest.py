"""Shared fixtures: a tiny phantom benchmark and its preprocessed cache, built once per test session.

Tests never write into these folders (they copy what they change), so no test depends on another's output.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from medvlseg.train.config import TrainConfig


#: the real chest CTA sample (checks only, never trained or tuned on); MEDVLSEG_REAL_CT overrides the folder
REAL_CT_DIR = Path(os.environ.get("MEDVLSEG_REAL_CT",
                                  Path(__file__).resolve().parents[2] / "shared/data/real/ts_chest_cta_pulm"))


@pytest.fixture(scope="session")
def real_ct_dir() -> Path:
    """Folder of the real chest CTA (ct.nii.gz, pulmonary_artery.nii.gz, ...); the test is skipped without it."""
    if not (REAL_CT_DIR / "ct.nii.gz").is_file():
        pytest.skip(f"real chest CT not available at {REAL_CT_DIR} (set MEDVLSEG_REAL_CT)")
    return REAL_CT_DIR


@pytest.fixture(scope="session")
def real_ct(real_ct_dir: Path) -> Path:
    """The real chest CTA image (LPS NIfTI)."""
    return real_ct_dir / "ct.nii.gz"


@pytest.fixture(scope="session")
def tiny_benchmark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Manifest of a tiny phantom benchmark (3 train: 1 full + 2 half, 1 val, 1 test; ≤ 48³, 4 orientations)."""
    from medvlseg.data.phantom.benchmark import write_benchmark

    out = tmp_path_factory.mktemp("tiny_benchmark")
    write_benchmark(out, "tiny", seed=0)
    return out / "dataset.json"


@pytest.fixture(scope="session")
def tiny_cache(tiny_benchmark: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Preprocessed cache of `tiny_benchmark` (window, tubularity, lung split, 5-class labels)."""
    from medvlseg.data.cache import build_cache
    from medvlseg.data.preprocess import PreprocessConfig

    out = tmp_path_factory.mktemp("tiny_cache")
    report = build_cache(tiny_benchmark, out, PreprocessConfig(), workers=1, progress=False)
    assert not report.failed, report.failed
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-epoch light lacaf run on the tiny cache (read-only for tests: copy it before changing it)."""
    from medvlseg.train.trainer import Trainer

    run = tmp_path_factory.mktemp("tiny_run") / "run"
    Trainer(tiny_train_config(epochs=1), tiny_cache, run, progress=False).fit()
    return run


def tiny_train_config(**changes: object) -> TrainConfig:
    """A CPU-sized training config: light lacaf, 32³ patches, batch 2, 2 epochs of 3 steps, no workers."""
    from medvlseg.utils.config import override

    base = TrainConfig(preset="lacaf", light=True, patch_size=32, batch_size=2, epochs=2, steps_per_epoch=3,
                       warmup_epochs=0.5, num_workers=0, device="cpu", val_every=1)
    return override(base, **changes) if changes else base


def fixed_batch_losses(model: torch.nn.Module, cache: Path, patch: int, steps: int, lr: float = 3e-3) -> list[float]:
    """Train `model` (train mode, AdamW on its trainable parameters) for `steps` steps on one fixed batch of two
    training patches (edge `patch` voxels) from `cache`; the partial-label loss after each step."""
    from medvlseg.data.cache import list_cases
    from medvlseg.train.losses import partial_label_loss
    from medvlseg.train.sampling import PatchDataset

    ds = PatchDataset(cache, list_cases(cache, "training"), patch, 1.0, None, seed=0)
    batch = [ds[i] for i in range(2)]
    image, label, annotated = (torch.stack([b[k] for b in batch]) for k in ("image", "label", "annotated"))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = partial_label_loss(model(image), label, annotated, model.activation)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
