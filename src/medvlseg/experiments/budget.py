"""Experiment budgets: `smoke` (CI, minutes) and `full` (the committed results, ~2 h per table on 2 CPU cores)."""

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


BUDGETS: dict[str, Budget] = {
    "smoke": Budget("smoke", "tiny", (0, 1), {
        "light": True, "patch_size": 32, "batch_size": 1, "epochs": 1, "steps_per_epoch": 1,
        "warmup_epochs": 0.0, "val_every": 0, "num_workers": 0, "device": "cpu"}, spacing_mm=None),
    "full": Budget("full", "small", (0, 1, 2), {
        "light": True, "patch_size": 48, "batch_size": 2, "epochs": 12, "steps_per_epoch": 25,
        "warmup_epochs": 1.0, "val_every": 4, "num_workers": 1, "device": "auto"}),
}


def get_budget(name: str) -> Budget:
    """The budget called `name` (KeyError → a message listing the known ones)."""
    if name not in BUDGETS:
        raise KeyError(f"unknown budget {name!r}; choose one of {sorted(BUDGETS)}")
    return BUDGETS[name]
