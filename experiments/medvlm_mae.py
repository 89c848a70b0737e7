"""Pre-train Med-VLM's ViT as a masked autoencoder on engine slices and ship it (seed 003, issue 19).

One command (resumable: rerun continues from experiments/work/medvlm_mae/state.*):
    .venv/bin/python experiments/medvlm_mae.py [--steps 1000] [--threads 1]
Data: 48 engine cases (preset tiny, CTA field of view, contrast phases none/arterial/venous/random in turn, seeds
30000-30047) cut into 64 x 64 axial slices; validation loss on 4 further cases (seeds 31000-31003). Neither set
overlaps the Med-VLM training (10000-) or test (20000-) cases. Output: src/medvlseg/resources/models/medvlm_vit_mae/
(vit.safetensors fp16, vit.json card with sha256, log.csv, loss.png, MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import csv
import logging
import platform
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch

from medvlseg.data.slices2d import SliceSet, build_slice_set
from medvlseg.experiments.medvlm2d import ALL_PHASES, MAE_SEEDS, MAE_VAL_SEEDS, SIZE, VIT
from medvlseg.train.mae import MAEConfig, export_vit, mae_loss, mae_model, mean_fill_loss, pretrain_mae
from medvlseg.utils.atomic import write_text

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "experiments" / "work" / "medvlm_mae"
OUT = ROOT / "src" / "medvlseg" / "resources" / "models" / "medvlm_vit_mae"
log = logging.getLogger("medvlm_mae")


def slice_set(name: str, seeds: tuple[int, ...]) -> SliceSet:
    """Engine slices of `seeds` (all phases), cached in WORK/name.npz."""
    path = WORK / f"{name}.npz"
    if path.is_file():
        return SliceSet.load(path)
    data = build_slice_set(seeds, ALL_PHASES, size=SIZE, progress=True)
    data.save(path)
    return data


def plot_loss(log_csv: Path, png: Path, floor: float) -> None:
    """Training and validation MAE loss against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(log_csv)))
    steps = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(steps, [float(r["loss"]) for r in rows], label="train (masked patches)")
    ax.plot(steps, [float(r["val_loss"]) for r in rows], label="validation (unseen cases)")
    ax.axhline(floor, ls=":", c="grey", label="fill with the visible mean (validation)")
    ax.set_xlabel("step"), ax.set_ylabel("MAE loss"), ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def card_md(card: dict) -> str:
    """MODEL_CARD.md text from the JSON card."""
    m = card["measured"]
    return f"""# Med-VLM ViT, masked-autoencoder pre-trained on engine slices (in-house)

- Architecture: transformers ViTModel (patch {VIT.patch}, width {VIT.dim}, depth {VIT.depth}, {VIT.heads} heads,
  MLP {VIT.mlp_dim}, {SIZE} x {SIZE} px, 1 channel, pixels in [0, 1] mapped to [-1, 1]); {card['parameters']:,}
  parameters, fp16, {card['bytes']:,} bytes, sha256 `{card['sha256']}`.
- Use: `model.options.image.weights: mae` on the `medvlm` preset with the image options above (checksum and shape
  are checked at load; another shape is a clear error).
- Pre-training: transformers `ViTMAEForPreTraining`, mask ratio {card['config']['mask_ratio']}, raw-pixel MSE (norm_pix_loss off),
  decoder {card['config']['decoder_dim']}-d x {card['config']['decoder_depth']}, AdamW lr {card['config']['lr']}
  (warm-up {card['config']['warmup']}, cosine), batch {card['config']['batch']}, {card['config']['steps']} steps.
- Data: {card['data']['train_slices']} axial slices of {len(MAE_SEEDS)} synthetic engine cases (preset tiny, CTA field
  of view, phases none/arterial/venous/random; seeds {MAE_SEEDS[0]}-{MAE_SEEDS[-1]}); validation: {card['data']['val_slices']}
  slices of seeds {MAE_VAL_SEEDS[0]}-{MAE_VAL_SEEDS[-1]}. No real CT.
- Loss (masked patches, validation, fixed masks): {m['val_loss_init']:.3f} at initialisation → {m['val_loss_final']:.3f}
  (floor: every masked patch filled with the mean of the visible pixels {m['val_loss_mean_fill']:.3f}). Curve:
  loss.png, log.csv.
- Hardware: {card['hardware']}; wall time {m['wall_s']:.0f} s (shared machine: other jobs ran at the same time).
- Regenerate: `.venv/bin/python experiments/medvlm_mae.py` (resumable).
"""


def main() -> None:
    """Build data, pre-train (resumable), export weights + card into the package."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    train, val = slice_set("train", MAE_SEEDS), slice_set("val", MAE_VAL_SEEDS)
    cfg = MAEConfig(steps=args.steps)
    init_loss = mae_loss(mae_model(VIT, cfg), val.images)
    model = pretrain_mae(train.images, val.images, VIT, cfg, WORK)
    final_loss, floor = mae_loss(model, val.images), mean_fill_loss(model, val.images)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(WORK / "log.csv", OUT / "log.csv")
    meta = {"name": "medvlm_vit_mae", "image": asdict(VIT), "config": asdict(cfg),
            "data": {"engine_preset": "tiny", "seeds": [MAE_SEEDS[0], MAE_SEEDS[-1]], "phases": list(ALL_PHASES),
                     "train_slices": len(train), "val_slices": len(val),
                     "val_seeds": [MAE_VAL_SEEDS[0], MAE_VAL_SEEDS[-1]]},
            "hardware": f"cpu ({platform.processor() or platform.machine()}), {args.threads} thread(s)",
            "measured": {"val_loss_init": init_loss, "val_loss_final": final_loss, "val_loss_mean_fill": floor,
                         "wall_s": time.perf_counter() - t0}}
    card = export_vit(model, OUT / "vit.safetensors", meta)
    plot_loss(OUT / "log.csv", OUT / "loss.png", floor)
    write_text(OUT / "MODEL_CARD.md", card_md(card))
    log.info("MAE val loss %.3f → %.3f (mean fill %.3f); weights %s (%d bytes)", init_loss, final_loss, floor, OUT,
             card["bytes"])


if __name__ == "__main__":
    main()
