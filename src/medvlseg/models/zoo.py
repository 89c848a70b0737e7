"""Shipped and given models: the default model inside the package, run folders the user names, and packaging.

A shipped model is a run folder stored under `medvlseg/resources/models/<name>/` (docs/architecture.md, Run
folder): `config.yaml` (the resolved training config), `prompts.json` (class names and prompts),
`class_embeddings.safetensors` (MiniLM embeddings of the prompts, for `--prompt` and fine-tuning), `best.safetensors`
+ `best.json` (fp16 weights with the class embeddings folded in, so predict loads no text encoder), `manifest.json`
(SHA-256 of each of those files, training route and figures) and `MODEL_CARD.md`. `resolve_model` verifies every
checksum before a shipped model is used; weights are read with safetensors only (never unpickled).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medvlseg.errors import CheckpointError
from medvlseg.utils.atomic import write_json, write_text
from medvlseg.utils.tensor_files import sha256_file

log = logging.getLogger(__name__)

SHIPPED_ROOT = Path(__file__).resolve().parents[1] / "resources" / "models"
DEFAULT_MODEL = "default"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "medvlseg-shipped-model"
CHECKED_FILES = ("config.yaml", "prompts.json", "class_embeddings.safetensors", "best.safetensors", "best.json")


def shipped_names() -> list[str]:
    """Names of the models shipped inside the package (folders holding a manifest.json)."""
    if not SHIPPED_ROOT.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_ROOT.iterdir() if (p / MANIFEST).is_file())


def read_manifest(folder: Path) -> dict[str, Any]:
    """A shipped model's manifest.json (CheckpointError naming the file when missing or invalid)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise CheckpointError(path, "shipped model manifest not found (reinstall medvlseg)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(path, f"not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise CheckpointError(path, f"not a {MANIFEST_FORMAT} manifest")
    return manifest


def verify_shipped(folder: Path) -> dict[str, Any]:
    """Check every file listed in the manifest against its SHA-256; returns the manifest."""
    manifest = read_manifest(folder)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise CheckpointError(folder / MANIFEST, "lists no files")
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(path, "missing from the shipped model (reinstall medvlseg)")
        if sha256_file(path) != digest:
            raise CheckpointError(path, "checksum differs from manifest.json: the shipped model is corrupt or "
                                        "was modified (reinstall medvlseg)")
    return manifest


def resolve_model(spec: str | Path | None) -> Path:
    """A model folder: None or a shipped name → the verified shipped model; otherwise a run folder path."""
    name = DEFAULT_MODEL if spec is None else str(spec)
    if name in shipped_names():
        folder = SHIPPED_ROOT / name
        verify_shipped(folder)
        return folder
    path = Path(name)
    if not path.is_dir():
        known = ", ".join(shipped_names()) or "none installed"
        raise CheckpointError(path, f"run folder not found, nor a shipped model name (shipped: {known})")
    return path


@dataclass
class ModelInfo:
    """One line of `medvlseg models`: where a model is and what it is (MB, steps)."""

    name: str
    kind: str  # shipped | run
    path: Path
    preset: str
    classes: list[str]
    checkpoint: str  # best | last | none
    size_mb: float
    note: str


def describe(folder: Path, name: str, kind: str) -> ModelInfo:
    """What a run folder or shipped model holds (config preset, classes, checkpoint, size on disk)."""
    cfg_path = folder / "config.yaml"
    try:
        config = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CheckpointError(cfg_path, f"cannot read run config: {exc}") from exc
    prompts = folder / "prompts.json"
    classes = json.loads(prompts.read_text(encoding="utf-8")).get("classes", []) if prompts.is_file() else []
    stem = next((s for s in ("best", "last") if (folder / f"{s}.safetensors").is_file()), "none")
    size = (folder / f"{stem}.safetensors").stat().st_size / 2**20 if stem != "none" else 0.0
    note = ""
    if kind == "shipped":
        training = read_manifest(folder).get("training", {})
        note = (f"{training.get('steps_total', training.get('steps', '?'))} steps on {training.get('data', '?')}, "
                f"{training.get('route', '?')} route")
    else:
        meta_path = folder / f"{stem}.json"
        extra = json.loads(meta_path.read_text(encoding="utf-8")).get("extra", {}) if meta_path.is_file() else {}
        if extra.get("val_dice") is not None:
            note = f"val Dice {extra['val_dice']:.3f} at epoch {extra.get('epoch')}"
    return ModelInfo(name, kind, folder, str(config.get("preset", "?")), [str(c) for c in classes], stem, size, note)


def list_models(given: list[Path] | None = None) -> list[ModelInfo]:
    """Shipped models, then each given run folder (or the run folders directly inside a given folder)."""
    infos = [describe(SHIPPED_ROOT / n, n, "shipped") for n in shipped_names()]
    for path in given or []:
        if (path / "config.yaml").is_file():
            infos.append(describe(path, path.name, "run"))
        elif path.is_dir():
            runs = sorted(p for p in path.iterdir() if (p / "config.yaml").is_file())
            if not runs:
                raise CheckpointError(path, "holds no run folder (no config.yaml in it or its sub-folders)")
            infos += [describe(p, p.name, "run") for p in runs]
        else:
            raise CheckpointError(path, "not found")
    return infos


def _drop_init(config_path: Path) -> None:
    """Remove `init` from a packaged config: where the weights started is the manifest's training record, and a
    config that kept it would make `train --config <shipped config>` fine-tune instead of starting from scratch."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and data.pop("init", ""):
        write_text(config_path, yaml.safe_dump(data, sort_keys=False))


def package_run(run_dir: Path, out_dir: Path | None = None, checkpoint: str = "best",
                training: dict[str, Any] | None = None, name: str = DEFAULT_MODEL) -> Path:
    """Write run `run_dir`'s checkpoint as a shipped model: fp16 weights, run files, manifest with checksums."""
    from medvlseg.models.serialization import load_model, read_checkpoint, save_model

    out = Path(out_dir) if out_dir is not None else SHIPPED_ROOT / name
    stem = run_dir / checkpoint
    _, _, meta = read_checkpoint(stem)
    model = load_model(stem).half()
    out.mkdir(parents=True, exist_ok=True)
    extra = {k: v for k, v in (meta.get("extra") or {}).items() if k in ("epoch", "val_dice")}
    if "train" in (meta.get("extra") or {}):  # a `last` checkpoint: its progress, without optimizer state
        extra.update({k: meta["extra"]["train"][k] for k in ("epoch", "step") if k in meta["extra"]["train"]})
    save_model(out / "best", model, extra_meta={"source_checkpoint": checkpoint, **extra, "dtype": "float16"})
    for fname in ("config.yaml", "prompts.json", "class_embeddings.safetensors"):
        if not (run_dir / fname).is_file():
            raise CheckpointError(run_dir / fname, "run file missing: cannot package the run")
        shutil.copyfile(run_dir / fname, out / fname)
    _drop_init(out / "config.yaml")
    write_json(out / MANIFEST, {"format": MANIFEST_FORMAT, "version": 1, "name": name,
                                "files": {f: sha256_file(out / f) for f in CHECKED_FILES},
                                "training": training or {}})
    for path in out.iterdir():  # package data: readable by everyone (atomic writes create 0600 temp files)
        if path.is_file():
            path.chmod(0o644)
    log.info("packaged %s → %s (%.1f MB)", stem, out, (out / "best.safetensors").stat().st_size / 2**20)
    return out
