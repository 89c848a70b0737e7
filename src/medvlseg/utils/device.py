"""Torch device selection shared by training and prediction."""

from __future__ import annotations

import torch

from medvlseg.errors import InputError


def resolve_device(device: str) -> torch.device:
    """'auto' → cuda if available else cpu; otherwise the named torch device (InputError if torch rejects it)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise InputError(device, f"unknown --device: {exc}") from exc
