"""Run-folder set-up for training: resolve data (manifest → cache), class prompts and embeddings, model.

Writes what predict needs (docs/architecture.md, Run folder): `config.yaml` (the resolved TrainConfig; its
`preprocess:` section is the cache's), `prompts.json`, `class_embeddings.safetensors` (text-conditioned models).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import torch

from medvlseg.data.cache import build_cache, list_cases, load_config
from medvlseg.errors import ConfigError, InputError
from medvlseg.models import build_model
from medvlseg.models.presets import get_preset
from medvlseg.text import class_names, class_prompts, get_text_encoder, save_embeddings
from medvlseg.train.config import TrainConfig
from medvlseg.utils.atomic import write_json
from medvlseg.utils.config import save

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


def class_list(config: TrainConfig) -> list[str]:
    """Foreground class names of the label mode (5class: L/R artery/vein; 3class: artery, vein)."""
    return list(class_names(5 if config.label_mode == "5class" else 3))


def run_prompts(config: TrainConfig) -> list[str]:
    """One prompt per class: the template filled with the class name, or the class's anatomical description."""
    classes = class_list(config)
    if config.text.descriptions:
        from medvlseg.text.descriptions import describe

        return describe(classes, config.text.descriptions, config.text.descriptions_file or None)
    return class_prompts(classes, config.text.template)


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


def write_run_files(run_dir: Path, config: TrainConfig, cache: Path, encoder_cfg: dict | None,
                    emb: torch.Tensor | None) -> TrainConfig:
    """Write config.yaml (preprocess = the cache's), prompts.json and class embeddings; returns the resolved config."""
    resolved = replace(config, preprocess=load_config(cache))
    run_dir.mkdir(parents=True, exist_ok=True)
    save(resolved, run_dir / "config.yaml")
    classes = class_list(config)
    prompts = run_prompts(config)
    write_json(run_dir / "prompts.json", {"classes": classes, "template": config.text.template,
                                          "descriptions": config.text.descriptions,
                                          "prompts": prompts, "label_mode": config.label_mode})
    if emb is not None and encoder_cfg is not None and len(set(prompts)) == len(prompts):
        save_embeddings(run_dir / "class_embeddings.safetensors", prompts, emb, encoder_cfg)
    elif emb is not None:  # e.g. empty "none" descriptions: the checkpoint's class_embeddings buffer holds them
        log.info("identical class prompts: no class_embeddings.safetensors (keyed by prompt) written")
    return resolved


def read_prompts(run_dir: Path) -> dict:
    """The run's prompts.json."""
    return json.loads((run_dir / "prompts.json").read_text(encoding="utf-8"))
