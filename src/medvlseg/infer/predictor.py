"""Predictor: run folder + options → label map (and probabilities) in exactly the input's geometry.

Pipeline: preprocessing from the run's config → MONAI sliding window (Gaussian blending) → optional mirroring
TTA → class probabilities resampled (trilinear, slab by slab) to the input grid → threshold (sigmoid) / argmax
(softmax) and 5→3 merge there, as nnU-Net decides labels on the input grid → cc3d small-component removal (mm³)
+ lung restriction (lung map dilated on the working grid, then nearest-resampled) → atomic writes.

The run folder is read through `medvlseg.train.run_folder.read_run` (typed `TrainConfig`: preprocessing,
training patch size, text encoder; class names from `RUN/prompts.json`). Contract extension: probabilities are
written as one 4-D float32 file `<stem>_probabilities.nii.gz` (X, Y, Z, K) beside the label map, channel order
= sidecar label order.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from medvlseg.data.label_scheme import FIVE, THREE, default_names
from medvlseg.data.labels import to_three_class
from medvlseg.data.preprocess import PreprocessConfig, preprocess_image
from medvlseg.data.resample import nearest_lookup, resize_linear_slabs
from medvlseg.errors import CheckpointError, ConfigError, InputError, MedvlsegError
from medvlseg.infer.engines import choose_engine, load_exported
from medvlseg.infer.label_grid import decide_on_grid
from medvlseg.infer.postprocess import lung_region, merge_probabilities, postprocess_labels, threshold_labels
from medvlseg.infer.refine import av_evidence, refine_labels
from medvlseg.infer.writers import write_label_map, write_label_sidecars
from medvlseg.io import Volume, read_image, write_image
from medvlseg.io.checks import check_patch_size
from medvlseg.models.sliding import sliding_probabilities, window_size
from medvlseg.train.config import TrainConfig
from medvlseg.train.run_folder import read_run
from medvlseg.utils.device import resolve_device

log = logging.getLogger(__name__)


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
    engine: str = "auto"  # auto | torch | onnx | openvino (the last two: RUN/model.onnx, CPU; see infer.engines)
    box: tuple[float, ...] | None = None  # x0,y0,z0,x1,y1,z1 in input-file voxels (segevolution/segvol)
    points: tuple[tuple[float, float, float, int], ...] = ()  # (x, y, z, label 1/0) in input-file voxels
    modality: str | None = None  # input modality for modality-routed models (segevolution); None: "ct"
    refine: str = "none"  # none | topology (whole vessel segments artery or vein, medvlseg.infer.refine)
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
        if self.options.refine not in ("none", "topology"):
            raise ConfigError("--refine", f"must be none or topology, got {self.options.refine!r}")
        if self.options.refine == "topology" and (self.prompted or len(self.class_names) != FIVE.num_foreground):
            raise ConfigError("--refine", "topology needs an artery/vein model (4 trained classes, no --prompt)")
        if self.options.modality is not None or self.options.box or self.options.points:
            from medvlseg.infer.prompted import check_prompt_support

            check_prompt_support(self.model, self.options)

    @classmethod
    def from_run(cls, run_dir: str | Path, options: PredictOptions | None = None,
                 text_encoder: Any = None) -> Predictor:
        """Load model, preprocessing and class names from a run folder; embed `options.prompts` if given."""
        from medvlseg.models import load_model

        run_dir, options = Path(run_dir), options or PredictOptions()
        run = read_run(run_dir)
        stem = run.checkpoint(options.checkpoint) if options.engine in ("torch", "auto") else run_dir / "best"
        patch: int | list[int] = check_patch_size(run.config.patch_size, run_dir / "config.yaml", divisor=1,
                                                  multiple=False)
        engine = choose_engine(options.engine, options, resolve_device(options.device), run_dir, stem)
        if engine in ("onnx", "openvino"):
            model: torch.nn.Module = load_exported(engine, run_dir, torch.get_num_threads())
            patch, k = list(model.window), int(model.meta["num_classes"])
        else:
            if not stem.with_suffix(".json").is_file():
                raise CheckpointError(stem.with_suffix(".json"), "checkpoint not found in the run folder")
            model = load_model(stem, device="cpu")
            k = int(model.config.num_classes)
        names = run.classes if run.classes and len(run.classes) == k else default_names(k)
        embeddings = None
        if options.prompts and hasattr(model, "set_prompts"):  # medvlm: prompts are tokenised into the model
            try:
                model.set_prompts(list(options.prompts))
            except ConfigError as exc:
                raise InputError(run_dir, str(exc)) from exc
        elif options.prompts:
            embeddings = _embed_prompts(model, list(options.prompts), run.config, text_encoder, run_dir)
        names = list(options.prompts) if options.prompts else names
        options = replace(options, engine=engine)
        return cls(model, run.config.preprocess, options, names, patch, embeddings, bool(options.prompts))

    @property
    def merges_sides(self) -> bool:
        """True when the 5-class outputs (L/R artery/vein) are written as the 3-class scheme (artery, vein)."""
        return (not self.prompted and len(self.class_names) == FIVE.num_foreground
                and self.options.classes == THREE.classes)

    @property
    def output_names(self) -> list[str]:
        """Foreground names of the written label map (value i+1 = name i)."""
        return list(THREE.names) if self.merges_sides else list(self.class_names)

    def class_labels(self, probs: np.ndarray | torch.Tensor, dim: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (K' channels along `dim`) → (labels uint8, foreground probabilities (N along `dim`))."""
        probs = torch.as_tensor(probs)
        if self.activation == "softmax":
            labels = threshold_labels(probs, "softmax", dim=dim)
            fg = probs.narrow(dim, 1, probs.shape[dim] - 1)
            if self.merges_sides:
                labels = torch.from_numpy(to_three_class(labels.numpy()))
                fg = merge_probabilities(fg, FIVE.groups_3, dim, reduce="sum")
            return labels.numpy(), fg.numpy()
        fg = merge_probabilities(probs, FIVE.groups_3, dim) if self.merges_sides else probs
        return threshold_labels(fg, "sigmoid", self.options.threshold, dim).numpy(), fg.numpy()

    def decide(self, probs: np.ndarray, lung: np.ndarray | None, work_spacing: Sequence[float],
               shape: Sequence[int], spacing: Sequence[float],
               times: dict[str, float] | None = None,
               image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Working-grid probabilities (K', ...) → labels (uint8) and, if asked, foreground probabilities on the
        input grid (`shape` voxels of `spacing` mm), post-processed there, then `--refine`d (seconds → `times`).

        Labels: as if the probabilities were trilinearly resampled to every input voxel and decided there, but
        interpolated only where the 8 working-grid neighbours leave the label open (`infer.label_grid`).
        Probabilities (when asked) are resampled slab by slab, so memory holds one slab, not K' input-sized
        maps. Components are counted in mm³ inside the foreground's bounding box on the input grid; the lung
        region is dilated on the working grid (`lung`, `work_spacing` mm), then nearest-resampled in that box.
        `image` (the input CT in HU, `shape`) feeds the topology refinement's bronchus prior.
        """
        shape = tuple(int(n) for n in shape)
        labels = decide_on_grid(probs, shape, lambda p: self.class_labels(p, dim=0)[0], self.activation,
                                self.options.threshold)
        fg_out: np.ndarray | None = None
        evidence = np.empty(shape, dtype=np.float16) if self.options.refine != "none" else None  # artery − vein
        if self.options.probabilities or evidence is not None:
            for rows, slab in resize_linear_slabs(probs, shape):  # slab (rows, K', Y, Z)
                fg = self.class_labels(slab, dim=1)[1]
                if evidence is not None:
                    evidence[rows] = av_evidence(fg, dim=1)
                if not self.options.probabilities:
                    continue
                if fg_out is None:
                    fg_out = np.empty((fg.shape[1], *shape), dtype=np.float32)
                fg_out[:, rows] = fg.swapaxes(0, 1)
        region = lung_region(lung, work_spacing, self.options.lung_margin_mm)
        if self.options.min_component_mm3 > 0 or region is not None:
            near = None if region is None else nearest_lookup(region, shape)
            labels = postprocess_labels(labels, spacing, self.options.min_component_mm3, near)
        if evidence is not None:
            t0 = time.perf_counter()
            labels = refine_labels(labels, evidence, spacing, five_class=self.options.classes == FIVE.classes,
                                   image=image)
            if times is not None:
                times["refine"] = time.perf_counter() - t0
        return labels, fg_out

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
        labels, prob_out = self.decide(probs, prep.lung if self.preprocess.lung_split else None, prep.spacing,
                                       prep.source_shape, volume.spacing, times, volume.array)
        times["decide"] = time.perf_counter() - t0  # resampling to the input grid, labels, post-processing (+ refine)
        return Prediction(labels, self.output_names, prob_out, times)

    def predict_file(self, input_path: str | Path, output_path: str | Path,
                     after: Callable[[Volume, Prediction, Path], None] | None = None) -> Prediction:
        """Read an image file/DICOM folder, predict, write label map + side files (+ probabilities), then `after`."""
        from medvlseg.io.checks import checked_volume

        input_path, output_path = Path(input_path), Path(output_path)
        t0 = time.perf_counter()
        volume = read_image(input_path, allow_gaps=self.options.allow_gaps)
        read_s = time.perf_counter() - t0
        volume = checked_volume(volume, input_path, self.options.fill_nonfinite,
                                ct=(self.options.modality or "ct") == "ct")
        if after is not None and hasattr(after, "check"):  # extras that cannot apply fail before any work
            after.check(volume)
        pred = self.predict_volume(volume, where=str(input_path))
        pred.timings = {"read": read_s, **pred.timings}
        t0 = time.perf_counter()
        if pred.probabilities is not None:
            prob_path = probability_path(output_path)
            write_image(prob_path, np.moveaxis(pred.probabilities, 0, -1), like=volume, dtype=np.float32)
        write_label_sidecars(output_path, pred.names, {"source": str(input_path), "timings_s": pred.timings})
        try:
            if after is not None:  # extra outputs (meshes, report, DICOM-SEG) before the label map marks "done"
                after(volume, pred, output_path)
        except MedvlsegError as exc:  # a failed extra never loses the computed label map
            write_label_map(output_path, pred.labels, volume, pred.names)
            raise InputError(output_path, f"label map written, but an extra output failed: {exc}") from exc
        write_label_map(output_path, pred.labels, volume, pred.names)
        pred.timings["write"] = time.perf_counter() - t0
        return pred


def probability_path(label_path: Path) -> Path:
    """`<stem>_probabilities.nii.gz` beside a label map `<stem>.<ext>`."""
    from medvlseg.infer.writers import sidecar_paths

    stem = sidecar_paths(label_path)["json"].name[: -len(".json")]
    return label_path.with_name(f"{stem}_probabilities.nii.gz")


def _embed_prompts(model: torch.nn.Module, prompts: list[str], config: TrainConfig, encoder: Any,
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


def _run_text_encoder(config: TrainConfig, run_dir: Path) -> Any:
    """The run's text encoder: from class_embeddings.safetensors' encoder config, else the config's `text`."""
    from medvlseg.text import load_embeddings, text_encoder_from_config
    from medvlseg.train.run_folder import EMBEDDINGS_FILE

    cached = run_dir / EMBEDDINGS_FILE
    text_cfg: dict[str, Any] = {}
    if cached.is_file():
        text_cfg = dict(load_embeddings(cached).encoder_config or {})
    if not text_cfg.get("name"):
        text_cfg = {"name": config.text.name, **config.text.options}
    return text_encoder_from_config(text_cfg)
