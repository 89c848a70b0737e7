"""Patch sampling from the cache: crops, determinism per index, positive centres, label modes, ranks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from medvlseg.data.cache import list_cases, load_case
from medvlseg.train.config import AugmentConfig
from medvlseg.train.sampling import EpochSampler, PatchDataset, crop_patch, patch_start


def test_crop_pads_outside_the_volume() -> None:
    a = np.arange(2 * 4 * 4 * 4, dtype=np.float32).reshape(2, 4, 4, 4)
    out = crop_patch(a, (-1, 0, 2), 3, pad_value=-5.0)
    assert out.shape == (2, 3, 3, 3)
    assert np.all(out[:, 0] == -5.0)  # x = -1 lies outside
    assert np.array_equal(out[:, 1:, :, :2], a[:, 0:2, 0:3, 2:4])
    assert np.all(out[:, :, :, 2] == -5.0)  # z = 4 lies outside


def test_patch_start_keeps_the_patch_inside_when_possible() -> None:
    assert patch_start((0, 50, 99), (100, 100, 100), 32) == [0, 34, 68]
    assert patch_start((5, 5, 5), (20, 40, 40), 32) == [-6, 0, 0]  # axis smaller than the patch: centred


def test_items_are_a_function_of_index(tiny_cache: Path) -> None:
    names = list_cases(tiny_cache, "training")
    ds = PatchDataset(tiny_cache, names, 24, 0.7, AugmentConfig(), seed=3)
    a, b, c = ds[5], ds[5], ds[6]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])
    assert not torch.equal(a["image"], c["image"])
    assert a["image"].shape == (2, 24, 24, 24) and a["label"].shape == (24, 24, 24)
    other_rank = PatchDataset(tiny_cache, names, 24, 0.7, AugmentConfig(), seed=3, rank=1)
    assert not torch.equal(a["image"], other_rank[5]["image"])  # ranks draw different patches


def test_positive_patches_hold_vessels_and_flags_follow_the_case(tiny_cache: Path) -> None:
    names = list_cases(tiny_cache, "training")
    ds = PatchDataset(tiny_cache, names, 16, 1.0, None, seed=0)
    flags = {n: load_case(tiny_cache, n).annotated.tolist() for n in names}
    assert [True, True, False, False] in flags.values() or [False, False, True, True] in flags.values()
    for i in range(12):
        item = ds[i]
        assert item["label"][8, 8, 8] > 0  # centred on an annotated vessel voxel
        assert item["annotated"].tolist() in flags.values()
        assert set(item["label"].unique().tolist()) <= {0, 1, 2, 3, 4}


def test_three_class_mode_is_the_naive_target(tiny_cache: Path) -> None:
    names = list_cases(tiny_cache, "training")
    ds = PatchDataset(tiny_cache, names, 16, 1.0, None, label_mode="3class", seed=0)
    for i in range(6):
        item = ds[i]
        assert item["annotated"].tolist() == [True, True]
        assert int(item["label"].max()) <= 2


def test_epoch_sampler_yields_disjoint_ranges() -> None:
    s = EpochSampler(4)
    first = list(s)
    s.set_epoch(2)
    assert first == [0, 1, 2, 3] and list(s) == [8, 9, 10, 11] and len(s) == 4
