"""Training guards: stop on a non-finite loss or non-finite weights, before anything is saved from them."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from medvlseg.errors import MedvlsegError


class NonFiniteError(MedvlsegError):
    """Training diverged (NaN/inf loss or weights); the checkpoints on disk are the last finite ones."""


def check_loss(loss: float, step: int, run_dir: Path) -> None:
    """Raise NonFiniteError when the loss of optimizer step `step` is NaN or infinite."""
    if not math.isfinite(loss):
        raise NonFiniteError(f"{run_dir}: loss is {loss} at step {step + 1}: training stopped before the update; "
                             "the saved checkpoints (best, last) are the last finite ones. Lower --lr, use --amp off, "
                             "or check the data (medvlseg validate)")


def check_weights(model: torch.nn.Module, epoch: int, run_dir: Path) -> None:
    """Raise NonFiniteError when a parameter holds NaN/inf after epoch `epoch` (0-based), naming the first one."""
    for name, param in model.named_parameters():
        if not torch.isfinite(param.detach()).all():
            raise NonFiniteError(f"{run_dir}: weights are not finite after epoch {epoch + 1} (first: {name}): "
                                 "training stopped; the saved checkpoints are the last finite ones")
