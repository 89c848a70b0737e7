"""Experiment budgets: `smoke` (CI, minutes), `full` (the first committed tables: 3 test phantoms, 3 seeds; kept
readable, superseded), `cpu` (the decisive tables on one CPU core: fixed engine set with 20 unseen test cases,
5 seeds) and `medium` (the GPU recipe: larger engine set, 64³ patches, longer schedule; experiments/device/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Budget:
    """Phantom preset, training size and seeds shared by every arm of an experiment (voxels, epochs, steps)."""

    name: str
    phantom: str  # medvlseg phantom preset (tiny | small | paper)
    seeds: tuple[int, ...]
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields common to every arm
    spacing_mm: float | None = 2.5  # working grid of the preprocessing cache (None: each image's own grid)
    tubularity: bool = True
    engine_set: str | None = None  # a fixed engine data set (medvlseg.experiments.engine_data) instead of `phantom`
    modality: str = "ct"  # classic phantoms: ct | mri | mixed (seed 004: alternating CT and MRI-like cases)
    phantom_overrides: dict[str, Any] = field(default_factory=dict)  # classic PhantomConfig fields (case counts)
    predict_overlap: float = 0.5  # sliding-window overlap of the test predictions


BUDGETS: dict[str, Budget] = {
    "smoke": Budget("smoke", "tiny", (0, 1), {
        "light": True, "patch_size": 32, "batch_size": 1, "epochs": 1, "steps_per_epoch": 1,
        "warmup_epochs": 0.0, "val_every": 0, "num_workers": 0, "device": "cpu"}, spacing_mm=None),
    "smoke-mixed": Budget("smoke-mixed", "tiny", (0, 1), {
        "light": True, "patch_size": 32, "batch_size": 1, "epochs": 1, "steps_per_epoch": 1,
        "warmup_epochs": 0.0, "val_every": 0, "num_workers": 0, "device": "cpu"}, spacing_mm=None, modality="mixed",
        phantom_overrides={"n_train": 2, "n_val": 1, "n_test": 2, "n_train_full": 1, "preview": False}),
    "full": Budget("full", "small", (0, 1, 2), {
        "light": True, "patch_size": 48, "batch_size": 2, "epochs": 12, "steps_per_epoch": 25,
        "warmup_epochs": 1.0, "val_every": 4, "num_workers": 1, "device": "auto"}),
    # one CPU core (threads 1), ~1–2 min per run: sized from measured steps/s, see docs/results/cpu/README.md
    "cpu": Budget("cpu", "engine:cpu", (0, 1, 2, 3, 4), {
        "light": True, "patch_size": 32, "batch_size": 2, "epochs": 3, "steps_per_epoch": 50, "lr": 2e-3,
        "warmup_epochs": 0.5, "val_every": 0, "num_workers": 0, "threads": 1, "device": "cpu"},
        spacing_mm=None, engine_set="cpu", predict_overlap=0.25),
    # seed 004 on one CPU core: classic `tiny` phantoms alternating CT / MRI-like, 10 + 10 unseen test cases
    "cpu-mixed": Budget("cpu-mixed", "tiny", (0, 1, 2, 3, 4), {
        "light": True, "patch_size": 32, "batch_size": 2, "epochs": 3, "steps_per_epoch": 50, "lr": 2e-3,
        "warmup_epochs": 0.5, "val_every": 0, "num_workers": 0, "threads": 1, "device": "cpu"},
        spacing_mm=None, modality="mixed", predict_overlap=0.25,
        phantom_overrides={"n_train": 8, "n_val": 2, "n_test": 20, "n_train_full": 2, "preview": False}),
    # the GPU recipe (experiments/device/medium_runs.sh): engine `small` set, 64³ patches, 2000 steps
    "medium": Budget("medium", "engine:medium", (0, 1, 2, 3, 4), {
        "light": True, "patch_size": 64, "batch_size": 4, "epochs": 20, "steps_per_epoch": 100,
        "warmup_epochs": 1.0, "val_every": 5, "num_workers": 2, "device": "auto"},
        spacing_mm=2.0, engine_set="medium"),
    "medium-mixed": Budget("medium-mixed", "small", (0, 1, 2, 3, 4), {
        "light": True, "patch_size": 64, "batch_size": 4, "epochs": 20, "steps_per_epoch": 100, "lr": 5e-4,
        "warmup_epochs": 1.0, "val_every": 5, "num_workers": 2, "device": "auto"},
        modality="mixed", phantom_overrides={"n_train": 24, "n_val": 4, "n_test": 24, "n_train_full": 6,
                                             "preview": False}),
}


def get_budget(name: str) -> Budget:
    """The budget called `name` (KeyError → a message listing the known ones)."""
    if name not in BUDGETS:
        raise KeyError(f"unknown budget {name!r}; choose one of {sorted(BUDGETS)}")
    return BUDGETS[name]
