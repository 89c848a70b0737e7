"""Load the published CLIP-Driven Universal Model U-Net weights (a local file) into our `UNet3D`.

Accepted files: a torch checkpoint (`torch.load(path, map_location="cpu", weights_only=True)`, never a full
unpickle) holding a dict with key `net` (or a bare state dict), or a `.safetensors` file. Parameter names look
like `module.backbone.down_tr64.ops.0.conv1.weight`; keys outside `backbone.` (text/organ embeddings, controller,
heads) are ignored. Names are rewritten component by component with the tables below.

Input channels: the published network takes 1 channel. When our model has more (default 2: HU window +
tubularity), the first conv's weights are copied into channel 0 and channels 1.. are zero-initialised, so the
outputs are reproduced exactly when the extra channels are zero.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from medvlseg.errors import CheckpointError
from medvlseg.utils.tensor_files import read_state_dict

log = logging.getLogger(__name__)

# Published level name → our module name.
LEVELS = {
    "down_tr64": "enc1",
    "down_tr128": "enc2",
    "down_tr256": "enc3",
    "down_tr512": "enc4",
    "up_tr256": "dec3",
    "up_tr128": "dec2",
    "up_tr64": "dec1",
}
# Published sub-module name → our sub-module name (indices and tensor names pass through unchanged).
PARTS = {"ops": "blocks", "conv1": "conv", "bn1": "norm", "up_conv": "up"}
FIRST_CONV = "enc1.blocks.0.conv.weight"


def map_universal_key(key: str) -> str | None:
    """Our parameter name for a published key, or None when the key is not part of the backbone."""
    parts = key.split(".")
    if parts and parts[0] == "module":
        parts = parts[1:]
    if not parts or parts[0] != "backbone":
        return None
    parts = parts[1:]
    if not parts or parts[0] not in LEVELS:
        return ".".join(["?"] + parts)  # inside backbone but unknown: reported as unexpected
    return ".".join([LEVELS[parts[0]]] + [PARTS.get(p, p) for p in parts[1:]])



def _adapt_first_conv(weight: torch.Tensor, target: torch.Tensor, path: Path) -> torch.Tensor:
    """Copy published input-channel weights into channels 0.. and zero the extra input channels."""
    if weight.shape == target.shape:
        return weight
    if weight.shape[0] != target.shape[0] or weight.shape[2:] != target.shape[2:] or weight.shape[1] > target.shape[1]:
        raise CheckpointError(path, f"{FIRST_CONV}: shape {tuple(weight.shape)} does not fit {tuple(target.shape)}")
    out = torch.zeros_like(target)
    out[:, : weight.shape[1]] = weight  # (C_out, C_in_published, 3, 3, 3) into (C_out, C_in, 3, 3, 3)
    return out


def convert_universal_state(state: dict[str, torch.Tensor], backbone: nn.Module, path: Path) -> dict[str, torch.Tensor]:
    """Rename published keys to ours, check the key sets and shapes, adapt the first conv's input channels."""
    ours = backbone.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    ignored = 0
    for key, value in state.items():
        new = map_universal_key(key)
        if new is None:
            ignored += 1
            continue
        mapped[new] = value
    unexpected = sorted(k for k in mapped if k not in ours)
    missing = sorted(k for k in ours if k not in mapped)
    if unexpected or missing:
        raise CheckpointError(
            path,
            f"backbone keys do not match the Universal-Model U-Net: missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''} ({len(missing)}), unexpected {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''} ({len(unexpected)})",
        )
    mapped[FIRST_CONV] = _adapt_first_conv(mapped[FIRST_CONV], ours[FIRST_CONV], path)
    for key, value in mapped.items():
        if value.shape != ours[key].shape:
            raise CheckpointError(path, f"{key}: shape {tuple(value.shape)} != model {tuple(ours[key].shape)}")
    log.info("universal weights %s: %d backbone tensors loaded, %d other keys ignored", path, len(mapped), ignored)
    return mapped


def load_universal_weights(backbone: nn.Module, path: str | Path) -> None:
    """Load published Universal-Model U-Net weights from a local file into a paper-variant `UNet3D`."""
    path = Path(path)
    if getattr(backbone, "variant", None) != "paper":
        raise CheckpointError(path, "published U-Net weights load only into the unet3d backbone, variant 'paper'")
    state = convert_universal_state(read_state_dict(path), backbone, path)
    backbone.load_state_dict(state, strict=True)
