"""Predictor glue for seed 004 models: `--modality` and `--box` / `--point` prompts (infer.spatial_prompts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from medvlseg.errors import InputError
from medvlseg.infer.spatial_prompts import prompted_probabilities, spatial_prompts


def check_prompt_support(model: torch.nn.Module, options: Any) -> None:
    """InputError unless the model takes the requested modality / spatial prompts; sets `model.modality`."""
    preset = model.config.preset
    if options.modality is not None:
        if not getattr(model, "accepts_modality", False):
            raise InputError(options.modality, f"--modality needs a modality-routed model (segevolution, segvol), "
                                               f"not {preset!r}")
        try:
            model.gate.route(options.modality)
        except ValueError as exc:
            raise InputError(options.modality, str(exc)) from None
        model.modality = options.modality.lower()
    if (options.box or options.points) and not getattr(model, "accepts_spatial_prompts", False):
        raise InputError(preset, "--box / --point need a segevolution or segvol run")
    if (options.box or options.points) and options.tta:
        raise InputError(preset, "--tta is not available with --box / --point prompts")


def prompted_volume_probabilities(predictor: Any, volume: Any, image: np.ndarray, where: str) -> np.ndarray:
    """Working-grid image (C, X, Y, Z) + the predictor's box/points → probabilities (K, X, Y, Z)."""
    prompts = spatial_prompts(volume, predictor.options.box, predictor.options.points, where)
    return prompted_probabilities(predictor.model, torch.from_numpy(np.ascontiguousarray(image)), predictor.roi,
                                  prompts, predictor.text_embeddings, predictor.device).numpy()
