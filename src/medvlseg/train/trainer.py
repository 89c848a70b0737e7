"""The training loop: patches → partial-label loss → AdamW with warm-up + cosine, validation, checkpoints, logs.

One `Trainer` serves a single process and torchrun jobs alike (DDP, each rank drawing different patches,
rank 0 writing). Progress: a tqdm bar with loss, throughput and ETA; `RUN/log.csv` one row per epoch;
`RUN/train.log` the text log. `--resume` restarts after the last finished epoch, bit-identical on CPU.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from medvlseg.data.cache import list_cases, load_config
from medvlseg.errors import ConfigError
from medvlseg.utils.device import resolve_device
from medvlseg.models.sliding import window_size
from medvlseg.models.serialization import save_model
from medvlseg.train import distributed as dist_utils
from medvlseg.train.checkpoint import load_training_state, save_training_state
from medvlseg.train.config import TrainConfig
from medvlseg.train.logs import EpochLog, TensorBoardLog, require_tensorboard
from medvlseg.train.guards import check_loss, check_weights
from medvlseg.train.losses import partial_label_loss
from medvlseg.train.skeleton_recall import skeleton_recall_loss
from medvlseg.train.sampling import EpochSampler, PatchDataset
from medvlseg.train.run_folder import class_list, write_run_files
from medvlseg.train.setup import build_run_model, resolve_cache, training_cases
from medvlseg.train.stream import StreamDataset, engine_config, is_stream, stream_cache
from medvlseg.train.validation import validate
from medvlseg.utils.atomic import remove_stale_temps

log = logging.getLogger(__name__)


def lr_at(step: int, total: int, warmup: int, base_lr: float) -> float:
    """Learning rate at optimizer step `step`: linear warm-up over `warmup` steps, then cosine to 0."""
    if warmup > 0 and step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(1.0, progress)))


def amp_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: auto → bf16 on CUDA, none on CPU."""
    if setting == "off" or (setting == "auto" and device.type != "cuda"):
        return None
    return torch.float16 if setting == "fp16" else torch.bfloat16


@dataclass
class TrainResult:
    """What a finished (or stopped) `fit` reports."""

    run_dir: Path
    epochs_done: int
    best_dice: float
    best_epoch: int
    seconds: float
    history: list[dict] = field(default_factory=list)  # this call's epoch rows


class Trainer:
    """Train `config` on `data` (manifest or cache) into `run_dir`; `resume` continues from `run_dir/last`."""

    def __init__(self, config: TrainConfig, data: str | Path | None, run_dir: str | Path, resume: bool = False,
                 progress: bool = True, preprocess_workers: int = 1) -> None:
        spec = str(data) if data is not None else config.data
        if not spec:
            raise ConfigError("no training data: give --data (manifest, cache or phantom:PRESET) or `data:` in the config")
        self.stream = is_stream(spec)
        self.config, self.data, self.run_dir = config, (spec if self.stream else Path(spec)), Path(run_dir)
        self.resume, self.progress, self.preprocess_workers = resume, progress, preprocess_workers
        if config.tensorboard:
            require_tensorboard()
        last = self.run_dir / "last.json"
        if resume and not last.is_file():
            raise ConfigError(f"{last}: nothing to resume (no last checkpoint in the run folder)")
        if not resume and last.is_file():
            raise ConfigError(f"{self.run_dir}: already holds a training run; use --resume or another --out")

    def _setup(self) -> None:
        """Device, process group, cache, model, optimizer, data loader (and resumed state)."""
        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        self.info = dist_utils.init_distributed(self.device)
        if self.device.type == "cuda" and self.info.enabled:
            self.device = torch.device("cuda", self.info.local_rank)
            torch.cuda.set_device(self.device)
        if self.stream:  # engine cases on the fly; validation on a fixed seeded engine set in RUN/cache
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.cache, _ = stream_cache(str(self.data), cfg.stream, cfg.preprocess, self.run_dir, cfg.seed,
                                         build=self.info.is_main)
        else:
            self.cache = resolve_cache(self.data, cfg, self.run_dir, build=self.info.is_main,
                                       workers=self.preprocess_workers, progress=self.progress)
        dist_utils.barrier(self.info)
        if self.stream:
            self.train_names, self.val_names = [], list_cases(self.cache, "validation")
        else:
            self.train_names, self.val_names = training_cases(self.cache, cfg.train_annotated)
        in_channels = 2 if load_config(self.cache).tubularity else 1
        torch.manual_seed(cfg.seed)
        self.model, encoder_cfg, emb = build_run_model(cfg, in_channels)
        if cfg.init and not self.resume:  # fine-tuning: weights of a shipped model or another run
            from medvlseg.train.init import load_init_weights

            load_init_weights(self.model, cfg.init)
        if self.info.is_main:
            if self.resume:  # a kill -9 during a checkpoint write leaves its temp file behind
                for tmp in remove_stale_temps(self.run_dir):
                    log.warning("removed %s, left by an interrupted write", tmp.name)
            write_run_files(self.run_dir, cfg, self.cache, encoder_cfg, emb)
            self._add_file_log()
        self.model.to(self.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.state = {"epoch": -1, "step": 0, "best_dice": -1.0, "best_epoch": -1}
        if self.resume:
            self.state = load_training_state(self.run_dir / "last", self.model, self.optimizer)
            log.info("resumed after epoch %d (step %d)", self.state["epoch"], self.state["step"])
        self.net = self.model
        if self.info.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            unused = bool(getattr(self.model, "ddp_find_unused_parameters", False))
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids,
                                                                 find_unused_parameters=unused)
        self.sampler = EpochSampler(cfg.steps_per_epoch * cfg.batch_size)
        if self.stream:  # the stream's own worker processes generate; patches are cut in this process
            dataset = StreamDataset(engine_config(str(self.data), cfg.stream), cfg.stream, load_config(self.cache),
                                    cfg.patch_size, cfg.pos_ratio, cfg.augment, cfg.label_mode, cfg.seed,
                                    self.info.rank)
        else:
            dataset = PatchDataset(self.cache, self.train_names, cfg.patch_size, cfg.pos_ratio, cfg.augment,
                                   cfg.label_mode, cfg.seed, self.info.rank)
        workers = 0 if self.stream else cfg.num_workers
        self.dataset = dataset
        self.loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=self.sampler,
                                 num_workers=workers, persistent_workers=workers > 0,
                                 pin_memory=self.device.type == "cuda")
        self.roi = window_size([cfg.patch_size] * 3, self.model.size_divisor)
        self.amp = amp_dtype(cfg.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        self.epoch_log = EpochLog(self.run_dir / "log.csv", class_list(cfg))
        self.tensorboard = TensorBoardLog(self.run_dir) if cfg.tensorboard and self.info.is_main else None

    def _add_file_log(self) -> None:
        """Mirror medvlseg's log records into RUN/train.log."""
        handler = logging.FileHandler(self.run_dir / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("medvlseg").addHandler(handler)
        logging.getLogger("medvlseg").setLevel(logging.INFO)
        self._handler = handler

    def _step(self, batch: dict[str, torch.Tensor], step: int, total: int, warmup: int) -> float:
        """One optimizer step on a batch; returns the loss."""
        lr = lr_at(step, total, warmup, self.config.lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        image = batch["image"].to(self.device, non_blocking=True)
        label = batch["label"].to(self.device, non_blocking=True)
        annotated = batch["annotated"].to(self.device, non_blocking=True)
        ctx = torch.autocast(self.device.type, dtype=self.amp) if self.amp else nullcontext()
        # models that route by modality (segevolution) get each patch's modality from its case meta
        kwargs = {"modality": list(batch["modality"])} if getattr(self.model, "accepts_modality", False) else {}
        if hasattr(self.model, "training_prompts"):  # segevolution: box/point prompts drawn from the labels
            kwargs.update(self.model.training_prompts(label, self.config.seed, step))
        with ctx:
            logits = self.net(image, **kwargs)
        loss = partial_label_loss(logits.float(), label, annotated, self.model.activation)
        if self.config.loss.skeleton_recall > 0:
            loss = loss + self.config.loss.skeleton_recall * skeleton_recall_loss(logits.float(), label, annotated,
                                                                                  self.model.activation)
        check_loss(float(loss.detach()), step, self.run_dir)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return float(loss.detach())

    def _epoch(self, epoch: int) -> dict:
        """Train one epoch; returns its log row (without validation)."""
        from tqdm import tqdm

        cfg = self.config
        total, warmup = cfg.epochs * cfg.steps_per_epoch, int(cfg.warmup_epochs * cfg.steps_per_epoch)
        self.sampler.set_epoch(epoch)
        self.net.train()
        losses, wait = [], 0.0
        t0 = tick = time.perf_counter()
        bar = tqdm(self.loader, total=cfg.steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step",
                   disable=not (self.progress and self.info.is_main), dynamic_ncols=True)
        for batch in bar:
            wait += time.perf_counter() - tick
            losses.append(self._step(batch, self.state["step"], total, warmup))
            self.state["step"] += 1
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", lr=f"{self.optimizer.param_groups[0]['lr']:.2e}")
            tick = time.perf_counter()
        bar.close()
        seconds = time.perf_counter() - t0
        return {"epoch": epoch + 1, "step": self.state["step"],
                "loss": dist_utils.all_mean(float(np.mean(losses)), self.info),
                "lr": self.optimizer.param_groups[0]["lr"], "epoch_s": seconds,
                "data_wait_s_per_step": wait / len(losses), "steps_per_s": len(losses) / seconds}

    def _validate(self, epoch: int, row: dict) -> None:
        """Rank 0: validation Dice per class into `row`; saves `best` when the mean improves."""
        cfg = self.config
        due = cfg.val_every and self.val_names and ((epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs)
        if not due:
            return
        scores = validate(self.model, self.cache, self.val_names, self.roi, cfg.label_mode, cfg.val_overlap,
                          cfg.batch_size, self.device)
        for name, value in zip(self.epoch_log.columns[5:], scores):
            row[name] = float(value)
        mean = float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan")
        row["val_dice_mean"] = mean
        if mean > self.state["best_dice"]:
            self.state.update(best_dice=mean, best_epoch=epoch + 1)
            save_model(self.run_dir / "best", self.model, extra_meta={"epoch": epoch + 1, "val_dice": mean})
            log.info("epoch %d: new best validation Dice %.4f", epoch + 1, mean)

    def fit(self, stop_after: int | None = None) -> TrainResult:
        """Train until `config.epochs` (or `stop_after` more epochs in this call); returns the result."""
        t_start = time.perf_counter()
        self._setup()
        cfg, history = self.config, []
        first = self.state["epoch"] + 1
        last = cfg.epochs if stop_after is None else min(cfg.epochs, first + stop_after)
        try:
            for epoch in range(first, last):
                row = self._epoch(epoch)
                check_weights(self.model, epoch, self.run_dir)
                if self.info.is_main:
                    self._validate(epoch, row)
                    self.state["epoch"] = epoch
                    save_training_state(self.run_dir / "last", self.model, self.optimizer, dict(self.state))
                    self.epoch_log.append(row)
                    if self.tensorboard is not None:
                        self.tensorboard.add(row)
                    log.info("epoch %d: loss %.4f, val Dice %s, %.1f s, data wait %.3f s/step (%.1f %%)", epoch + 1,
                             row["loss"], f"{row.get('val_dice_mean', float('nan')):.4f}", row["epoch_s"],
                             row["data_wait_s_per_step"], 100.0 * row["data_wait_s_per_step"] * row["steps_per_s"])
                self.state["epoch"] = epoch
                history.append(row)
                dist_utils.barrier(self.info)
            if self.info.is_main and self.state["best_epoch"] < 0 and self.state["epoch"] + 1 == cfg.epochs:
                save_model(self.run_dir / "best", self.model, extra_meta={"epoch": cfg.epochs, "val_dice": None})
        finally:
            if isinstance(getattr(self, "dataset", None), StreamDataset):
                self.dataset.close()
            if getattr(self, "tensorboard", None) is not None:
                self.tensorboard.close()
            dist_utils.barrier(self.info)
            dist_utils.cleanup(self.info)
            if getattr(self, "_handler", None) is not None:
                logging.getLogger("medvlseg").removeHandler(self._handler)
                self._handler.close()
        return TrainResult(self.run_dir, self.state["epoch"] + 1, self.state["best_dice"], self.state["best_epoch"],
                           time.perf_counter() - t_start, history)
