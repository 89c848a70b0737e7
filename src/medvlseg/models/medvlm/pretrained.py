"""Frozen ViT weights for Med-VLM: the shipped in-house MAE encoder (`image.weights: mae`) or a local file.

Shipped weights live in `medvlseg/resources/models/<name>/vit.safetensors` with `vit.json` beside them (the
image options they were trained for, their sha256, the recipe). A local `.safetensors` file with a `<stem>.json`
card beside it is checked the same way; other formats are refused (weights are never unpickled).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path

from medvlseg.errors import CheckpointError, ConfigError, InputError
from medvlseg.models.medvlm.options import ImageEncoderOptions
from medvlseg.utils.tensor_files import sha256_file

SHIPPED = {"mae": "medvlm_vit_mae"}  # `image.weights` keyword → folder under resources/models
SHAPE_KEYS = ("patch", "dim", "depth", "heads", "mlp_dim")


def shipped_dir(name: str) -> Path:
    """Folder of the shipped ViT weights `name` (a key of SHIPPED)."""
    if name not in SHIPPED:
        raise ConfigError(f"unknown shipped ViT weights {name!r}; choose one of {sorted(SHIPPED)} or give a path")
    return Path(str(resources.files("medvlseg") / "resources" / "models" / SHIPPED[name]))


def resolve_vit_weights(spec: str, image: ImageEncoderOptions) -> Path:
    """`image.weights` value → verified .safetensors path (checksum and architecture checked against its card)."""
    path = shipped_dir(spec) / "vit.safetensors" if spec in SHIPPED else Path(spec).expanduser()
    if path.suffix != ".safetensors":
        raise InputError(path, "ViT weights must be a .safetensors file (other formats are never unpickled)")
    if not path.is_file():
        hint = " (regenerate with experiments/medvlm_mae.py)" if spec in SHIPPED else ""
        raise CheckpointError(path, f"ViT weights not found{hint}")
    card_path = path.with_suffix(".json")
    if not card_path.is_file():
        if spec in SHIPPED:
            raise CheckpointError(card_path, "shipped ViT weights have no card with their checksum")
        return path
    card = read_card(card_path)
    if sha256_file(path) != card["sha256"]:
        raise CheckpointError(path, f"sha256 differs from {card_path.name}: the weights are corrupt or were replaced")
    check_image_options(card, image, path)
    return path


def read_card(path: Path) -> dict:
    """A weights card (JSON with sha256 and the image options); InputError naming the file if malformed."""
    try:
        card = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"cannot read the weights card: {exc}") from exc
    if not isinstance(card, dict) or not isinstance(card.get("sha256"), str) or not isinstance(card.get("image"), dict):
        raise InputError(path, "weights card needs 'sha256' and 'image' (the ViT options the weights are for)")
    return card


def check_image_options(card: dict, image: ImageEncoderOptions, path: Path) -> None:
    """ConfigError naming the options to set when the model's ViT shape differs from the weights' one."""
    want = {k: card["image"].get(k) for k in SHAPE_KEYS}
    have = {k: asdict(image)[k] for k in SHAPE_KEYS}
    if want != have:
        diff = ", ".join(f"image.{k}: {want[k]} (model has {have[k]})" for k in SHAPE_KEYS if want[k] != have[k])
        raise ConfigError(f"ViT weights {path} are for another ViT shape; set model.options {diff}")
