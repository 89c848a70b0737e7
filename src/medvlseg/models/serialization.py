"""Model checkpoints: `<stem>.safetensors` (tensors) + `<stem>.json` (model config, format version, checksum).

Never pickled. Both files are written atomically (safetensors first, then the JSON that names its SHA-256, so a
torn or mismatched pair is detected). Extra tensors (e.g. optimizer state from the trainer) are stored under
the `extra.` prefix and extra JSON under the `extra` key; `load_model` ignores both, `read_checkpoint` returns them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from medvlseg.errors import CheckpointError, ConfigError
from medvlseg.models.config import ModelConfig
from medvlseg.utils.atomic import atomic_path, write_json
from medvlseg.utils.config import from_dict, to_dict
from medvlseg.utils.tensor_files import read_safetensors, sha256_file

FORMAT = "medvlseg-model"
FORMAT_VERSION = 1
EXTRA = "extra."


def checkpoint_paths(stem: str | Path) -> tuple[Path, Path]:
    """(`<stem>.safetensors`, `<stem>.json`); a stem given with either suffix is accepted."""
    stem = Path(stem)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")



def save_model(
    stem: str | Path,
    model: torch.nn.Module,
    config: ModelConfig | None = None,
    extra_tensors: dict[str, torch.Tensor] | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write the model's state (incl. the class_embeddings buffer) and config atomically; returns both paths."""
    from safetensors.torch import save_file

    config = config if config is not None else model.config
    tensors_path, json_path = checkpoint_paths(stem)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    for key, value in (extra_tensors or {}).items():
        tensors[EXTRA + key] = value.detach().cpu().contiguous().clone()
    with atomic_path(tensors_path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
        digest = sha256_file(tmp)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tensors": tensors_path.name,
        "sha256": digest,
        "model": to_dict(config),
    }
    if extra_meta:
        meta["extra"] = extra_meta
    write_json(json_path, meta)
    return tensors_path, json_path


def _read_meta(json_path: Path) -> dict[str, Any]:
    """Parse and check the JSON side of a checkpoint."""
    if not json_path.is_file():
        raise CheckpointError(json_path, "checkpoint config not found")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(json_path, f"not valid JSON: {exc}") from exc
    found = meta.get("format") if isinstance(meta, dict) else None
    if found != FORMAT:
        raise CheckpointError(json_path, f"not a {FORMAT} checkpoint (format {found!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(json_path, f"format version {version!r} is not supported (reads ≤ {FORMAT_VERSION})")
    return meta


def read_checkpoint(stem: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """Read (model config, all tensors, JSON metadata) and verify the pair belongs together."""
    tensors_path, json_path = checkpoint_paths(stem)
    meta = _read_meta(json_path)
    try:
        config = from_dict(ModelConfig, meta["model"], where="model")
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(json_path, f"invalid model config: {exc}") from exc
    if not tensors_path.is_file():
        raise CheckpointError(tensors_path, "checkpoint tensors not found")
    if meta.get("sha256") and sha256_file(tensors_path) != meta["sha256"]:
        raise CheckpointError(tensors_path, f"does not match {json_path.name} (checksum differs: mixed or corrupt)")
    tensors = read_safetensors(tensors_path, "checkpoint tensors")[0]
    return config, tensors, meta


def load_model(stem: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the model from `<stem>.json` and load `<stem>.safetensors` strictly; returns it in eval mode."""
    from medvlseg.models.model import build_model

    tensors_path, _ = checkpoint_paths(stem)
    config, tensors, _meta = read_checkpoint(stem)
    config.backbone.pretrained = ""  # the checkpoint already holds the weights
    try:
        model = build_model(config)
    except (ConfigError, ValueError) as exc:
        raise CheckpointError(tensors_path, f"cannot build the model it describes: {exc}") from exc
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            tensors_path, f"tensors do not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    bad = [k for k, v in state.items() if v.shape != expected[k].shape]
    if bad:
        raise CheckpointError(tensors_path, f"tensor shapes do not match the model: {bad[:5]}")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
