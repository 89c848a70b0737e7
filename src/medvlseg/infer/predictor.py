"""Predictor: run folder + options → label map (and probabilities) in exactly the input's geometry.

Pipeline: preprocessing from the run's config → MONAI sliding window (Gaussian blending) → optional mirroring
TTA → threshold (sigmoid) / argmax (softmax) → 5→3 merge → cc3d small-component removal + lung restriction on
the working grid → nearest-neighbour inverse resampling to the input grid → atomic writes.

Run folder read (docs/architecture.md): `RUN/config.yaml` (section `preprocess:`; window size from
`patch_size` at the top level or under `train:`/`data:`), `RUN/best|last.safetensors+json`, `RUN/prompts.json`
(optional, `classes` list). Contract extension: probabilities are written as one 4-D float32 file
`<stem>_probabilities.nii.gz` (X, Y, Z, K) beside the label map, channel order = sidecar label order.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from medvlseg.data.labels import to_three_class
from medvlseg.data.preprocess import PreprocessConfig, invert_to_source, preprocess_image
from medvlseg.errors import CheckpointError, ConfigError, InputError, MedvlsegError
from medvlseg.infer.postprocess import merge_probabilities, postprocess_labels, threshold_labels
from medvlseg.infer.sliding import sliding_probabilities, window_size
from medvlseg.infer.writers import write_label_sidecars
from medvlseg.io import Volume, read_image, write_image
from medvlseg.utils.config import from_dict

log = logging.getLogger(__name__)

GROUPS_3 = ((0, 2), (1, 3))  # model channels (LA, LV, RA, RV) → artery, vein


@dataclass
class PredictOptions:
    """Prediction settings (probabilities in [0, 1], mm, voxels)."""

    classes: int = 3  # 3: artery/vein; 5: left/right kept
    threshold: float = 0.5  # sigmoid probability threshold
    overlap: float = 0.5  # sliding-window overlap fraction
    sw_batch_size: int = 2  # windows per forward pass
    tta: bool = False  # mirroring over the 3 axes (8 passes)
    fast: bool = False  # coarse spacing, no TTA, overlap 0.25
    fast_spacing_mm: float = 2.0  # working voxel size in --fast mode, mm
    device: str = "auto"  # auto → cuda when present, else cpu
    min_component_mm3: float = 20.0  # drop smaller components per class, mm³ (0 keeps all)
    lung_margin_mm: float = 10.0  # keep components touching the lungs dilated by this margin, mm (<0: off)
    probabilities: bool = False  # also write per-class probability maps
    prompts: tuple[str, ...] = ()  # free-text prompts (one output label each); empty: trained classes
    patch_size: int | None = None  # sliding window edge, voxels (None: the run's training patch size)
    checkpoint: str = "best"  # run checkpoint stem (falls back to "last")
    engine: str = "torch"  # torch | onnx (RUN/model.onnx from `medvlseg export`, CPU)
    box: tuple[float, ...] | None = None  # x0,y0,z0,x1,y1,z1 in input-file voxels (segevolution/segvol)
    points: tuple[tuple[float, float, float, int], ...] = ()  # (x, y, z, label 1/0) in input-file voxels
    modality: str | None = None  # input modality for modality-routed models (segevolution); None: "ct"
    fill_nonfinite: bool = False  # replace NaN/inf voxels by the image minimum (warning) instead of refusing
    allow_gaps: bool = False  # interpolate missing DICOM slices instead of refusing the series

    def effective(self) -> PredictOptions:
        """Options with --fast applied (no TTA, overlap 0.25)."""
        return replace(self, tta=False, overlap=min(self.overlap, 0.25)) if self.fast else self


@dataclass
class Prediction:
    """Result on the input's canonical grid."""

    labels: np.ndarray  # (X, Y, Z) uint8
    names: list[str]  # foreground label names, value i+1 = names[i]
    probabilities: np.ndarray | None = None  # (K, X, Y, Z) float32 or None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


def resolve_device(device: str) -> torch.device:
    """'auto' → cuda if available else cpu; otherwise the named torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise InputError(device, f"unknown --device: {exc}") from exc


def read_run(run_dir: Path) -> tuple[dict[str, Any], list[str] | None]:
    """The run's resolved config (dict) and its class names from prompts.json (None if absent)."""
    cfg_path = run_dir / "config.yaml"
    if not run_dir.is_dir():
        raise CheckpointError(run_dir, "run folder not found")
    if not cfg_path.is_file():
        raise CheckpointError(cfg_path, "run config not found (is this a training run folder?)")
    try:
        config = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CheckpointError(cfg_path, f"cannot read run config: {exc}") from exc
    if not isinstance(config, dict):
        raise CheckpointError(cfg_path, "run config must be a mapping")
    classes = None
    prompts_path = run_dir / "prompts.json"
    if prompts_path.is_file():
        try:
            data = json.loads(prompts_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(prompts_path, f"cannot read prompts: {exc}") from exc
        raw = data.get("classes") if isinstance(data, dict) else None
        classes = [str(c) for c in raw] if isinstance(raw, list) else None
    return config, classes


def checkpoint_stem(run_dir: Path, name: str) -> Path:
    """`RUN/<name>`; a missing `best` falls back to `last` with a warning, any other missing name is an error."""
    stem = run_dir / name
    if stem.with_suffix(".json").is_file():
        return stem
    if name == "best" and (run_dir / "last.json").is_file():
        log.warning("%s: no best checkpoint (training stopped before its first validation?): using last", run_dir)
        return run_dir / "last"
    found = sorted(p.stem for p in run_dir.glob("*.json") if p.with_suffix(".safetensors").is_file())
    raise CheckpointError(stem.with_suffix(".json"), f"checkpoint {name!r} not found in the run folder "
                                                     f"(available: {', '.join(found) or 'none'})")


def _patch_from(config: dict[str, Any]) -> int | list[int] | None:
    """Training patch size (voxels) from a run config: top level, or under train:/data:."""
    for section in (config, config.get("train") or {}, config.get("data") or {}):
        if isinstance(section, dict) and section.get("patch_size") is not None:
            return section["patch_size"]
    return None


class Predictor:
    """A loaded run: `predict_volume(volume)` and `predict_file(input, output)`."""

    def __init__(self, model: torch.nn.Module, preprocess: PreprocessConfig, options: PredictOptions,
                 class_names: list[str], patch: int | list[int] = 96,
                 text_embeddings: torch.Tensor | None = None, prompted: bool = False) -> None:
        self.options = options.effective()
        self.device = resolve_device(self.options.device)
        self.model = model.to(self.device).eval()
        self.activation: str = getattr(model, "activation", "sigmoid")
        self.preprocess = preprocess
        if self.options.fast:  # coarse working grid, never finer than the run's own
            s = max(self.options.fast_spacing_mm, *(preprocess.target_spacing or (0.0,)))
            self.preprocess = replace(preprocess, target_spacing=(s, s, s))
        self.class_names = list(class_names)
        edge = self.options.patch_size or patch
        edges = [int(edge)] * 3 if isinstance(edge, int) else [int(e) for e in edge]
        self.roi = window_size(edges, int(getattr(model, "size_divisor", 1)))
        self.text_embeddings = text_embeddings
        self.prompted = prompted or text_embeddings is not None  # outputs are free-text prompts, not the classes
        if self.options.modality is not None or self.options.box or self.options.points:
            from medvlseg.infer.prompted import check_prompt_support

            check_prompt_support(self.model, self.options)

    @classmethod
    def from_run(cls, run_dir: str | Path, options: PredictOptions | None = None,
                 text_encoder: Any = None) -> Predictor:
        """Load model, preprocessing and class names from a run folder; embed `options.prompts` if given."""
        from medvlseg.models import load_model

        run_dir, options = Path(run_dir), options or PredictOptions()
        config, names = read_run(run_dir)
        stem = checkpoint_stem(run_dir, options.checkpoint) if options.engine == "torch" else run_dir / "best"
        patch = _patch_from(config)
        if patch is not None:
            from medvlseg.commands.checks import check_patch_size

            patch = check_patch_size(patch, run_dir / "config.yaml", divisor=1, multiple=False)
        patch = patch or 96
        if options.engine == "onnx":
            from medvlseg.infer.export import OnnxNet

            model: torch.nn.Module = OnnxNet(run_dir / "model.onnx")
            patch, k = list(model.window), int(model.meta["num_classes"])
        else:
            if not stem.with_suffix(".json").is_file():
                raise CheckpointError(stem.with_suffix(".json"), "checkpoint not found in the run folder")
            model = load_model(stem, device="cpu")
            k = int(model.config.num_classes)
        try:
            prep = from_dict(PreprocessConfig, config.get("preprocess") or {}, where="preprocess")
        except Exception as exc:  # noqa: BLE001 - ConfigError/ValueError from the dataclass
            raise CheckpointError(run_dir / "config.yaml", f"invalid preprocess section: {exc}") from exc
        names = names if names and len(names) == k else _default_names(k)
        embeddings = None
        if options.prompts and hasattr(model, "set_prompts"):  # medvlm: prompts are tokenised into the model
            try:
                model.set_prompts(list(options.prompts))
            except ConfigError as exc:
                raise InputError(run_dir, str(exc)) from exc
        elif options.prompts:
            embeddings = _embed_prompts(model, list(options.prompts), config, text_encoder, run_dir)
        names = list(options.prompts) if options.prompts else names
        return cls(model, prep, options, names, patch, embeddings, bool(options.prompts))

    @property
    def output_names(self) -> list[str]:
        """Foreground names of the written label map (value i+1 = name i)."""
        if self.prompted or len(self.class_names) != 4 or self.options.classes == 5:
            return list(self.class_names)
        return ["pulmonary artery", "pulmonary vein"]

    def _labels(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working-grid probabilities (K', ...) → (labels (X, Y, Z) uint8, foreground probs (N, ...))."""
        merge = not self.prompted and len(self.class_names) == 4 and self.options.classes == 3
        if self.activation == "softmax":
            labels = threshold_labels(probs, "softmax")
            fg = probs[1:]
            if merge:
                return to_three_class(labels), np.stack([fg[list(g)].sum(axis=0) for g in GROUPS_3])
            return labels, fg
        if merge:
            fg = merge_probabilities(probs, GROUPS_3)
            return threshold_labels(fg, "sigmoid", self.options.threshold), fg
        return threshold_labels(probs, "sigmoid", self.options.threshold), probs

    def predict_volume(self, volume: Volume, where: str = "image") -> Prediction:
        """Canonical volume (HU) → Prediction on the same canonical grid."""
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        prep = preprocess_image(volume, self.preprocess, where=where, sides_required=False,
                                min_voxels=int(getattr(self.model, "size_divisor", 2)))
        times["preprocess"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if self.options.box or self.options.points:  # SegVol zoom-out–zoom-in with box/point prompts
            from medvlseg.infer.prompted import prompted_volume_probabilities

            probs = prompted_volume_probabilities(self, volume, prep.image, where)
        else:
            probs = sliding_probabilities(
                self.model, torch.from_numpy(np.ascontiguousarray(prep.image)), self.roi, self.activation,
                overlap=self.options.overlap, sw_batch_size=self.options.sw_batch_size, tta=self.options.tta,
                text_embeddings=self.text_embeddings, device=self.device,
            ).numpy()  # (K', X, Y, Z)
        times["inference"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        labels, fg = self._labels(probs)
        del probs
        labels = postprocess_labels(labels, prep.spacing, self.options.min_component_mm3,
                                    prep.lung if self.preprocess.lung_split else None, self.options.lung_margin_mm)
        times["postprocess"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = invert_to_source(labels, prep, "nearest").astype(np.uint8)
        prob_out = invert_to_source(fg.astype(np.float32), prep, "linear") if self.options.probabilities else None
        times["invert"] = time.perf_counter() - t0
        return Prediction(out, self.output_names, prob_out, times)

    def predict_file(self, input_path: str | Path, output_path: str | Path,
                     after: Callable[[Volume, Prediction, Path], None] | None = None) -> Prediction:
        """Read an image file/DICOM folder, predict, write label map + side files (+ probabilities), then `after`."""
        from medvlseg.io.checks import checked_volume

        input_path, output_path = Path(input_path), Path(output_path)
        volume = read_image(input_path, allow_gaps=self.options.allow_gaps)
        volume = checked_volume(volume, input_path, self.options.fill_nonfinite,
                                ct=(self.options.modality or "ct") == "ct")
        if after is not None and hasattr(after, "check"):  # extras that cannot apply fail before any work
            after.check(volume)
        pred = self.predict_volume(volume, where=str(input_path))
        t0 = time.perf_counter()
        if pred.probabilities is not None:
            prob_path = probability_path(output_path)
            write_image(prob_path, np.moveaxis(pred.probabilities, 0, -1), like=volume, dtype=np.float32)
        write_label_sidecars(output_path, pred.names, {"source": str(input_path), "timings_s": pred.timings})
        try:
            if after is not None:  # extra outputs (meshes, report, DICOM-SEG) before the label map marks "done"
                after(volume, pred, output_path)
        except MedvlsegError as exc:  # a failed extra never loses the computed label map
            write_image(output_path, pred.labels, like=volume, dtype=np.uint8)
            raise InputError(output_path, f"label map written, but an extra output failed: {exc}") from exc
        write_image(output_path, pred.labels, like=volume, dtype=np.uint8)
        pred.timings["write"] = time.perf_counter() - t0
        return pred


def probability_path(label_path: Path) -> Path:
    """`<stem>_probabilities.nii.gz` beside a label map `<stem>.<ext>`."""
    from medvlseg.infer.writers import sidecar_paths

    stem = sidecar_paths(label_path)["json"].name[: -len(".json")]
    return label_path.with_name(f"{stem}_probabilities.nii.gz")


def _default_names(k: int) -> list[str]:
    """Class names for a K-channel model: the 5-class names for K = 4, else 'class i'."""
    from medvlseg.text.prompts import CLASSES_5

    return list(CLASSES_5) if k == 4 else [f"class {i + 1}" for i in range(k)]


def _embed_prompts(model: torch.nn.Module, prompts: list[str], config: dict[str, Any], encoder: Any,
                   run_dir: Path) -> torch.Tensor:
    """Embed free-text prompts (K, E) with `encoder` or the run's text encoder (config `text:` section)."""
    if not getattr(model, "text_conditioned", False):
        raise InputError(run_dir, f"the {model.config.preset!r} model is not text-conditioned; --prompt needs "
                                  "a text-conditioned run (lacaf, universal)")
    if model.config.text_adapter == "lacaf" and len(prompts) != model.config.num_classes:
        raise InputError(run_dir, f"the lacaf model has one text adapter per trained class: give exactly "
                                  f"{model.config.num_classes} prompts (got {len(prompts)})")
    if encoder is None:
        encoder = _run_text_encoder(config, run_dir)
    emb = encoder.encode(prompts)  # (K, E)
    if emb.shape[-1] != model.config.text_dim:
        raise InputError(run_dir, f"text encoder gives {emb.shape[-1]}-d embeddings but the model expects "
                                  f"{model.config.text_dim}")
    return emb.float()


def _run_text_encoder(config: dict[str, Any], run_dir: Path) -> Any:
    """The run's text encoder: from class_embeddings.safetensors' encoder config, else config `text:`, else MiniLM."""
    from medvlseg.text import get_text_encoder, load_embeddings, text_encoder_from_config

    cached = run_dir / "class_embeddings.safetensors"
    text_cfg: dict[str, Any] = {}
    if cached.is_file():
        text_cfg = dict(load_embeddings(cached).encoder_config or {})
    if not text_cfg.get("name") and isinstance(config.get("text"), dict):
        text_cfg = dict(config["text"])
    return text_encoder_from_config(text_cfg) if text_cfg.get("name") else get_text_encoder("minilm")
