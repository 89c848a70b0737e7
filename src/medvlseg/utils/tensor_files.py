"""Reading tensor files users hand us (safetensors, weights-only torch checkpoints) and file checksums.

Every reader turns the libraries' failures on a bad file into one `CheckpointError` naming the file, and never
unpickles arbitrary objects (torch checkpoints are read with `weights_only=True`).
"""

from __future__ import annotations

import hashlib
import pickle
import re
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from medvlseg.errors import CheckpointError

# What safetensors / torch.load(weights_only=True) raise for a truncated, foreign or corrupt file.
SAFETENSORS_ERRORS = (SafetensorError, OSError, ValueError)
TORCH_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile)
WRAPPER_KEYS = ("state_dict", "model", "net")  # checkpoint dicts that nest the state dict under one of these


def sha256_file(path: str | Path, chunk_bytes: int = 8 << 20) -> str:
    """Hex SHA-256 of a file's bytes, read in `chunk_bytes` chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_safetensors(path: str | Path, what: str = "safetensors file") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(name → CPU tensor, string metadata) of a .safetensors file; CheckpointError naming it if missing or bad."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, f"{what} not found")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except SAFETENSORS_ERRORS as exc:
        raise CheckpointError(path, f"cannot read safetensors: {exc}") from exc
    return tensors, metadata


def read_state_dict(path: str | Path, what: str = "weights file") -> dict[str, torch.Tensor]:
    """Flat name → tensor dict from `.safetensors` or a torch checkpoint read weights-only.

    A dict nested under `state_dict` / `model` / `net` is unwrapped, and DDP's `module.` prefixes are dropped.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        state: object = read_safetensors(path, what)[0]
    else:
        if not path.is_file():
            raise CheckpointError(path, f"{what} not found")
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except TORCH_LOAD_ERRORS as exc:
            if "TorchScript" in str(exc):
                raise CheckpointError(path, "a TorchScript archive (like OpenAI's released .pt) cannot be read "
                                            "weights-only: save its state_dict() to .safetensors and pass that") from exc
            raise CheckpointError(path, f"cannot read as a weights-only state dict: {exc}") from exc
    for key in WRAPPER_KEYS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(path, "not a flat name → tensor state dict")
    return {re.sub(r"^(module\.)+", "", k): v for k, v in state.items()}
