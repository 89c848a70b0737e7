"""Masked-autoencoder pre-training (He et al., CVPR 2022) of Med-VLM's ViT on 2D slices (pixel values in [0, 1]).

The model is transformers' `ViTMAEForPreTraining`, configured like the preset's image encoder: its `vit.` weights
are key-for-key a `ViTModel` state dict, so they load into `medvlm.encoders.ImageEncoder` unchanged (MONAI's
`MaskedAutoEncoderViT` uses MONAI's own blocks, not the preset's transformers ViT). Written here: only the loop —
seeded batches and masks that are a pure function of (seed, step), so `resume` continues the same run; AdamW with
warm-up + cosine; a CSV log; resumable state (model + optimizer moments) as safetensors + JSON; fp16 export.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from medvlseg.models.medvlm.options import ImageEncoderOptions
from medvlseg.utils.atomic import atomic_path, write_json

log = logging.getLogger(__name__)
LOG_FIELDS = ("step", "loss", "val_loss", "lr", "elapsed_s")


@dataclass
class MAEConfig:
    """Schedule and MAE settings (steps, images per batch, learning rate, fraction of patches masked)."""

    steps: int = 1500
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup: int = 100
    mask_ratio: float = 0.75
    decoder_dim: int = 64
    decoder_depth: int = 2
    decoder_heads: int = 4
    decoder_mlp_dim: int = 256
    # raw-pixel targets: the paper's per-patch normalised targets turn flat noisy patches (lung, air: CT noise only)
    # into unit-variance white noise nothing can predict, and a short schedule then learns nothing (measured: val
    # loss 0.891 → 0.889 in 250 steps)
    norm_pix_loss: bool = False
    seed: int = 0
    log_every: int = 50
    save_every: int = 250


def mae_model(image: ImageEncoderOptions, cfg: MAEConfig, in_channels: int = 1) -> torch.nn.Module:
    """transformers ViTMAEForPreTraining whose encoder matches the preset ViT of `image` (no dropout)."""
    from transformers import ViTMAEConfig, ViTMAEForPreTraining

    config = ViTMAEConfig(image_size=image.image_size, patch_size=image.patch, num_channels=in_channels,
                          hidden_size=image.dim, num_hidden_layers=image.depth, num_attention_heads=image.heads,
                          intermediate_size=image.mlp_dim, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                          decoder_hidden_size=cfg.decoder_dim, decoder_num_hidden_layers=cfg.decoder_depth,
                          decoder_num_attention_heads=cfg.decoder_heads, decoder_intermediate_size=cfg.decoder_mlp_dim,
                          mask_ratio=cfg.mask_ratio, norm_pix_loss=cfg.norm_pix_loss)
    torch.manual_seed(cfg.seed)
    model = ViTMAEForPreTraining(config)
    fixed_positions(model)
    return model


def fixed_positions(model: torch.nn.Module) -> None:
    """Write MAE's fixed 2D sin-cos position embeddings (encoder and decoder) and a random decoder mask token.

    transformers 5.x's `ViTMAEForPreTraining(config)` leaves both position tables at zero (its `_init_weights`
    zeroes the decoder's and skips the encoder's); without positions a masked patch cannot know where it is and the
    MAE only learns the image mean (measured: validation loss stuck at the mean-fill floor, linear probe below a
    random ViT). Uses the library's own table builder, in the library's layout.
    """
    from transformers.models.vit_mae.modeling_vit_mae import build_2d_sinusoidal_position_embedding

    grid = model.config.image_size // model.config.patch_size
    with torch.no_grad():
        for table in (model.vit.embeddings.position_embeddings, model.decoder.decoder_pos_embed):
            pos = build_2d_sinusoidal_position_embedding(height=grid, width=grid, embed_dim=table.shape[-1],
                                                         cls_token=True)
            half = pos.shape[-1] // 2
            table.copy_(torch.cat([pos[..., half:], pos[..., :half]], dim=-1).unsqueeze(0).to(table.dtype))
        torch.nn.init.normal_(model.decoder.mask_token, std=model.config.initializer_range)


def _noise(n: int, tokens: int, seed: int, step: int) -> torch.Tensor:
    """MAE masking noise (n, tokens), a pure function of (seed, step)."""
    return torch.rand(n, tokens, generator=torch.Generator().manual_seed(seed * 1_000_003 + step))


def mae_loss(model: torch.nn.Module, images: np.ndarray, seed: int = 0, batch: int = 64) -> float:
    """Mean masked-patch loss of `model` on `images` (S, C, H, W) in [0, 1] with fixed seeded masks."""
    model.eval()
    tokens = model.config.image_size ** 2 // model.config.patch_size ** 2
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.asarray(images[i:i + batch], dtype=np.float32)) * 2.0 - 1.0
            out = model(pixel_values=x, noise=_noise(len(x), tokens, seed, i))
            total, count = total + float(out.loss) * len(x), count + len(x)
    return total / max(count, 1)


def mean_fill_loss(model: torch.nn.Module, images: np.ndarray, seed: int = 0, batch: int = 64) -> float:
    """Floor for `mae_loss`: every masked patch predicted as the mean of the image's visible pixels (same masks)."""
    tokens = model.config.image_size ** 2 // model.config.patch_size ** 2
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.asarray(images[i:i + batch], dtype=np.float32)) * 2.0 - 1.0
            mask = model(pixel_values=x, noise=_noise(len(x), tokens, seed, i)).mask  # (n, tokens), 1 = masked
            target = model.patchify(x)  # (n, tokens, p*p*C)
            visible = (1 - mask)[..., None]
            fill = (target * visible).sum(dim=(1, 2)) / (visible.sum(dim=(1, 2)) * target.shape[-1])
            err = ((target - fill[:, None, None]) ** 2).mean(-1)
            total += float(((err * mask).sum(1) / mask.sum(1)).sum())
            count += len(x)
    return total / max(count, 1)


def _lr(cfg: MAEConfig, step: int) -> float:
    """Linear warm-up then cosine decay to 0 (learning rate at `step`)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    return 0.5 * cfg.lr * (1.0 + math.cos(math.pi * (step - cfg.warmup) / max(cfg.steps - cfg.warmup, 1)))


def save_state(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int, meta: dict) -> None:
    """Resumable state: model weights and AdamW moments (safetensors) + step and settings (JSON), atomically."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        for key, value in opt.state.get(p, {}).items():
            tensors[f"opt.{i}.{key}"] = torch.as_tensor(value).detach().contiguous()
    with atomic_path(out / "state.safetensors") as tmp:
        save_file(tensors, str(tmp))
    write_json(out / "state.json", {**meta, "step": step})


def load_state(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> int:
    """Restore `save_state`'s files into model and optimizer; return the step to continue from (0 if none)."""
    from medvlseg.utils.tensor_files import read_safetensors

    if not (out / "state.json").is_file():
        return 0
    tensors = read_safetensors(out / "state.safetensors", "MAE state")[0]
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    params = opt.param_groups[0]["params"]
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, i, name = key.split(".", 2)
            opt.state[params[int(i)]][name] = value
    return int(json.loads((out / "state.json").read_text())["step"])


def pretrain_mae(train: np.ndarray, val: np.ndarray, image: ImageEncoderOptions, cfg: MAEConfig, out: str | Path,
                 progress: bool = True) -> torch.nn.Module:
    """Train an MAE on slices `train` (S, C, H, W) in [0, 1]; log `val` loss to out/log.csv; resumable from out."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = mae_model(image, cfg, in_channels=train.shape[1])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay, betas=(0.9, 0.95))
    start = load_state(out, model, opt)
    meta = {"config": asdict(cfg), "image": asdict(image)}
    if start == 0:
        with open(out / "log.csv", "w", newline="") as fh:
            csv.writer(fh).writerow(LOG_FIELDS)
    tokens = (image.image_size // image.patch) ** 2
    t0, running = time.perf_counter(), []
    for step in tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="MAE", disable=not progress):
        model.train()
        idx = np.random.default_rng([cfg.seed, step]).integers(0, len(train), cfg.batch)
        x = torch.from_numpy(train[idx].astype(np.float32)) * 2.0 - 1.0
        for group in opt.param_groups:
            group["lr"] = _lr(cfg, step)
        loss = model(pixel_values=x, noise=_noise(len(x), tokens, cfg.seed + 1, step)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running.append(loss.item())
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            row = [done, np.mean(running), mae_loss(model, val), _lr(cfg, step), time.perf_counter() - t0]
            with open(out / "log.csv", "a", newline="") as fh:
                csv.writer(fh).writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
            running = []
        if done % cfg.save_every == 0 or done == cfg.steps:
            save_state(out, model, opt, done, meta)
    return model


def export_vit(model: torch.nn.Module, path: str | Path, meta: dict) -> dict:
    """Write the MAE's encoder as a fp16 ViTModel state dict (path.safetensors) + card JSON with its sha256."""
    from safetensors.torch import save_file

    from medvlseg.utils.tensor_files import sha256_file

    path = Path(path)
    state = {k.removeprefix("vit."): v.detach().half().contiguous()
             for k, v in model.state_dict().items() if k.startswith("vit.")}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"format": "transformers ViTModel state dict", "dtype": "float16"})
    card = {**meta, "file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
            "parameters": int(sum(v.numel() for v in state.values()))}
    write_json(path.with_suffix(".json"), card)
    return card
