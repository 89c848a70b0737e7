"""The run folder (docs/architecture.md, Run folder): the one contract between `train` and `predict`.

Training writes it with `write_run_files`; everything downstream reads it with `read_run` → `RunFolder`, whose
`config` is the typed, validated `TrainConfig` of `RUN/config.yaml` (its `preprocess:` section is the cache's).
Files: `config.yaml`, `prompts.json` (classes, template, prompts, label mode), `class_embeddings.safetensors`
(text-conditioned models), `best|last.safetensors+json` (medvlseg.models.serialization), `log.csv`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from medvlseg.data.cache import load_config
from medvlseg.errors import CheckpointError, InputError
from medvlseg.text import class_prompts, save_embeddings
from medvlseg.train.config import TrainConfig
from medvlseg.utils.atomic import write_json
from medvlseg.utils.config import load, save

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
PROMPTS_FILE = "prompts.json"
EMBEDDINGS_FILE = "class_embeddings.safetensors"


@dataclass
class RunFolder:
    """A training run folder read back: its path, typed config and trained class names (None if unrecorded)."""

    path: Path
    config: TrainConfig
    classes: list[str] | None = None

    @property
    def embeddings_path(self) -> Path:
        """RUN/class_embeddings.safetensors (present for text-conditioned runs with distinct prompts)."""
        return self.path / EMBEDDINGS_FILE

    def checkpoint(self, stem: str = "best") -> Path:
        """Checkpoint stem `RUN/<stem>`; a missing `best` (no validation ran) falls back to `RUN/last` with a
        warning; any other missing stem is a CheckpointError listing the available ones."""
        path = self.path / stem
        if path.with_suffix(".json").is_file():
            return path
        if stem == "best" and (self.path / "last.json").is_file():
            log.warning("%s: no best checkpoint (training stopped before its first validation?): using last",
                        self.path)
            return self.path / "last"
        found = sorted(p.stem for p in self.path.glob("*.json") if p.with_suffix(".safetensors").is_file())
        raise CheckpointError(path.with_suffix(".json"), f"checkpoint {stem!r} not found in the run folder "
                                                         f"(available: {', '.join(found) or 'none'})")


def class_list(config: TrainConfig) -> list[str]:
    """Foreground class names of the label mode (5class: L/R artery/vein; 3class: artery, vein)."""
    return list(config.scheme.names)


def run_prompts(config: TrainConfig) -> list[str]:
    """One prompt per class: the template filled with the class name, or the class's anatomical description."""
    classes = class_list(config)
    if config.text.descriptions:
        from medvlseg.text.descriptions import describe

        return describe(classes, config.text.descriptions, config.text.descriptions_file or None)
    return class_prompts(classes, config.text.template)


def write_run_files(run_dir: Path, config: TrainConfig, cache: Path, encoder_cfg: dict | None,
                    emb: torch.Tensor | None) -> TrainConfig:
    """Write config.yaml (preprocess = the cache's), prompts.json and class embeddings; returns the resolved config."""
    resolved = replace(config, preprocess=load_config(cache))
    run_dir.mkdir(parents=True, exist_ok=True)
    save(resolved, run_dir / CONFIG_FILE)
    prompts = run_prompts(config)
    write_json(run_dir / PROMPTS_FILE, {"classes": class_list(config), "template": config.text.template,
                                        "descriptions": config.text.descriptions,
                                        "prompts": prompts, "label_mode": config.label_mode})
    if emb is not None and encoder_cfg is not None and len(set(prompts)) == len(prompts):
        save_embeddings(run_dir / EMBEDDINGS_FILE, prompts, emb, encoder_cfg)
    elif emb is not None:  # e.g. empty "none" descriptions: the checkpoint's class_embeddings buffer holds them
        log.info("identical class prompts: no %s (keyed by prompt) written", EMBEDDINGS_FILE)
    return resolved


def read_config(run_dir: str | Path) -> TrainConfig:
    """The run's TrainConfig (RUN/config.yaml); CheckpointError naming the file when missing or invalid."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG_FILE
    if not run_dir.is_dir():
        raise CheckpointError(run_dir, "run folder not found")
    if not path.is_file():
        raise CheckpointError(path, "run config not found (is this a training run folder?)")
    try:
        return load(TrainConfig, path)
    except InputError as exc:
        raise CheckpointError(path, f"invalid run config: {exc.problem}") from exc


def read_classes(run_dir: Path) -> list[str] | None:
    """Class names recorded in RUN/prompts.json (None when the file or its `classes` list is absent)."""
    path = run_dir / PROMPTS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(path, f"cannot read prompts: {exc}") from exc
    raw = data.get("classes") if isinstance(data, dict) else None
    return [str(c) for c in raw] if isinstance(raw, list) else None


def read_run(run_dir: str | Path) -> RunFolder:
    """A run folder's typed config and class names (CheckpointError if it is not a valid run folder)."""
    run_dir = Path(run_dir)
    return RunFolder(run_dir, read_config(run_dir), read_classes(run_dir))
