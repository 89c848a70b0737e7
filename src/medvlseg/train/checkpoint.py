"""Training checkpoints: the model checkpoint format of medvlseg.models plus optimizer, step and RNG state.

`last` holds everything `--resume` needs (model, AdamW moments, epoch, global step, best score, torch RNG);
`best` holds the model alone. Both are safetensors + JSON written atomically — never pickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from medvlseg.errors import CheckpointError
from medvlseg.models.serialization import EXTRA, read_checkpoint, save_model

OPTIM = "optim."
RNG_KEY = "rng.torch"


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimizer state → (flat tensors `optim.<param index>.<name>`, JSON-ready param groups)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for idx, entry in state["state"].items():
        for name, value in entry.items():
            tensors[f"{OPTIM}{idx}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors, {"param_groups": state["param_groups"]}


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                      where: Path) -> None:
    """Load the state written by `optimizer_tensors` into `optimizer` (same parameter layout)."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if not key.startswith(EXTRA + OPTIM):
            continue
        idx, name = key[len(EXTRA + OPTIM):].split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    groups = meta.get("param_groups")
    if not isinstance(groups, list):
        raise CheckpointError(where, "no optimizer state: not a training checkpoint (last.*)")
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as exc:
        raise CheckpointError(where, f"optimizer state does not match the model: {exc}") from exc


def save_training_state(stem: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                        progress: dict[str, Any]) -> None:
    """Write `<stem>.safetensors|json` with model, optimizer, torch RNG and `progress` (epoch, step, best…)."""
    tensors, groups = optimizer_tensors(optimizer)
    tensors[RNG_KEY] = torch.get_rng_state()
    save_model(stem, model, extra_tensors=tensors, extra_meta={"train": progress, **groups})


def load_training_state(stem: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore model, optimizer and torch RNG from `last`; returns the saved progress dict."""
    config, tensors, meta = read_checkpoint(stem)
    json_path = stem.with_suffix(".json")
    extra = meta.get("extra") or {}
    if "train" not in extra:
        raise CheckpointError(json_path, "not a training checkpoint (no optimizer/progress state)")
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA)}
    own = model.state_dict()
    if set(state) != set(own) or any(state[k].shape != own[k].shape for k in own):
        raise CheckpointError(stem.with_suffix(".safetensors"),
                              f"weights do not match the configured {config.preset!r} model")
    model.load_state_dict(state, strict=True)
    restore_optimizer(optimizer, tensors, extra, json_path)
    if EXTRA + RNG_KEY in tensors:
        torch.set_rng_state(tensors[EXTRA + RNG_KEY])
    return dict(extra["train"])
