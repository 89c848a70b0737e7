"""Training set-up: resolve data (manifest → cache), the training/validation cases, the model and its class
embeddings. The run folder itself is written and read by `medvlseg.train.run_folder`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from medvlseg.data.cache import build_cache, list_cases
from medvlseg.errors import ConfigError, InputError
from medvlseg.models import build_model
from medvlseg.models.presets import get_preset
from medvlseg.text import get_text_encoder
from medvlseg.train.config import TrainConfig
from medvlseg.train.run_folder import run_prompts

log = logging.getLogger(__name__)

CACHE_SUBDIR = "cache"


def resolve_cache(data: Path, config: TrainConfig, run_dir: Path, build: bool, workers: int = 1,
                  progress: bool = True) -> Path:
    """A cache folder as given, or the manifest's cache in `RUN/cache` (built/updated when `build`)."""
    if data.is_dir():
        if not (data / "cache.json").is_file():
            raise InputError(data, "neither a manifest (.json) nor a preprocessed cache (no cache.json)")
        return data
    if not data.is_file():
        raise InputError(data, "training data not found")
    cache = run_dir / CACHE_SUBDIR
    if build:
        report = build_cache(data, cache, config.preprocess, workers=workers, progress=progress)
        for name, err in report.failed.items():
            log.error("preprocess %s failed, left out of training: %s", name, err)
    return cache


def training_cases(cache: Path, annotated: str = "any") -> tuple[list[str], list[str]]:
    """(training, validation) case names of a cache (`annotated="both"`: fully-labeled training cases only)."""
    train = list_cases(cache, "training", None if annotated == "any" else annotated)
    val = list_cases(cache, "validation")
    if not train:
        which = "" if annotated == "any" else f" annotated {annotated!r}"
        raise InputError(cache / "cache.json", f"no cases of split 'training'{which} in the cache")
    return train, val


def _prompt_overrides(config: TrainConfig, prompts: list[str]) -> dict:
    """Architectures that encode prompts themselves (medvlm) get the prompts and the text spec as options."""
    text = {"name": config.text.name, **config.text.options}
    return {"options.prompts": prompts, "options.text": text,
            "options.class_queries": config.text.descriptions == "none" or None}


def build_run_model(config: TrainConfig, in_channels: int) -> tuple[torch.nn.Module, dict | None, torch.Tensor | None]:
    """Model from the preset (+ overrides) and, for text-conditioned presets, its frozen class embeddings."""
    overrides = {"num_classes": config.num_classes, "in_channels": in_channels, **config.model}
    encoder_cfg, emb = None, None
    probe = get_preset(config.preset, light=config.light)
    if "prompts" in probe.options:
        overrides.update(_prompt_overrides(config, run_prompts(config)))
    if probe.head != "softmax":
        encoder = get_text_encoder(config.text.name, **config.text.options)
        emb = encoder.encode(run_prompts(config)).float()  # (K, E)
        encoder_cfg = encoder.config()
        overrides["text_dim"] = int(emb.shape[1])
        del encoder
    try:
        model_config = get_preset(config.preset, light=config.light, **overrides)
        model = build_model(model_config)
    except (ConfigError, ValueError) as exc:
        raise ConfigError(f"model: {exc}") from exc
    if emb is not None:
        model.set_class_embeddings(emb)
    return model, encoder_cfg, emb
