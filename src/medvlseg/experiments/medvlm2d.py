"""Seed 003 on its own task: Med-VLM trained on 2D engine slices (six organs), arms x seeds, per-case Dice.

Data (medvlseg.data.slices2d): training cases of every contrast phase, a fixed held-out test set (contrast phases
`none` and `arterial`, seeds never used for training or MAE pre-training). A run trains one arm with one seed and
scores every test case (Dice over the case's slice stack, per organ); the paired tests (experiments.stats) pair
arms by (seed, case). Written here: the small 2D loop (Med-VLM is a 2D model; the 3D trainer cuts 3D patches).
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from medvlseg.data.slices2d import ORGANS, SliceSet
from medvlseg.models.medvlm.options import ImageEncoderOptions

log = logging.getLogger(__name__)

SIZE = 64  # slice edge, pixels
VIT = ImageEncoderOptions(patch=8, dim=128, depth=4, heads=4, mlp_dim=512, image_size=SIZE)
ALL_PHASES = ("none", "arterial", "venous", "random")
TEST_PHASES = ("none", "arterial")
TRAIN_SEEDS = tuple(range(10_000, 10_016))
TEST_SEEDS = tuple(range(20_000, 20_020))
MAE_SEEDS = tuple(range(30_000, 30_048))
MAE_VAL_SEEDS = tuple(range(31_000, 31_004))


@dataclass(frozen=True)
class Arm2D:
    """One arm: description level, which encoders are tuned, how, and the frozen ViT ('mae' or 'random')."""

    name: str
    descriptions: str = "complex"
    lora_text: bool = True
    lora_image: bool = True
    tuning: str = "lora"
    vit: str = "mae"


ARMS = (
    Arm2D("complex, both, LoRA (MAE ViT)"),
    Arm2D("simple descriptions", descriptions="simple"),
    Arm2D("no descriptions", descriptions="none"),
    Arm2D("LoRA neither", lora_text=False, lora_image=False),
    Arm2D("LoRA text only", lora_image=False),
    Arm2D("LoRA image only", lora_text=False),
    Arm2D("bottleneck adapter", tuning="adapter"),
    Arm2D("prefix tuning", tuning="prefix"),
    Arm2D("random ViT (complex, both, LoRA)", vit="random"),
)
REFERENCE = ARMS[0].name
# (claim, arm A, arm B): A > B is what seed 003 claims (or, last, what the pre-training should give)
CLAIMS = (
    ("descriptions: complex > none", REFERENCE, "no descriptions"),
    ("descriptions: complex > simple", REFERENCE, "simple descriptions"),
    ("LoRA placement: both > neither", REFERENCE, "LoRA neither"),
    ("LoRA placement: both > text only", REFERENCE, "LoRA text only"),
    ("LoRA placement: both > image only", REFERENCE, "LoRA image only"),
    ("tuning: LoRA > bottleneck adapter", REFERENCE, "bottleneck adapter"),
    ("tuning: LoRA > prefix tuning", REFERENCE, "prefix tuning"),
    ("pre-trained (MAE) ViT > random ViT", REFERENCE, "random ViT (complex, both, LoRA)"),
)
SUBSETS = {"all six organs": ORGANS, "arteries + veins": ("pulmonary artery", "pulmonary vein")}


@dataclass(frozen=True)
class Schedule:
    """Training schedule: steps, slices per batch, AdamW learning rate, warm-up steps, test slice stride."""

    steps: int = 100
    batch: int = 8
    lr: float = 3e-3
    warmup: int = 10
    eval_stride: int = 3  # every 3rd axial slice of a test case is scored


def build_arm(arm: Arm2D, vit_weights: str = "mae") -> torch.nn.Module:
    """The Med-VLM of `arm` (6 classes, 1 channel, MiniLM text, the shared small ViT)."""
    from medvlseg.models import build_model, get_preset
    from medvlseg.text.descriptions import describe

    prompts = describe(ORGANS, arm.descriptions)
    image = {f"options.image.{k}": v for k, v in asdict(VIT).items()}
    image["options.image.weights"] = vit_weights if arm.vit == "mae" else ""
    cfg = get_preset("medvlm", light=True, num_classes=len(ORGANS), in_channels=1, **image,
                     **{"options.prompts": prompts, "options.class_queries": arm.descriptions == "none",
                        "options.lora_text": arm.lora_text, "options.lora_image": arm.lora_image,
                        "options.tuning": arm.tuning, "options.max_tokens": 64, "options.mixer_dim": 32,
                        "options.mixer_heads": 4, "options.mixer_mlp_dim": 64, "options.mixer_depth": 2})
    return build_model(cfg)


def seg_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE + soft Dice (per class over the batch), the usual sigmoid segmentation loss."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(0, 2, 3))
    dice = (2 * inter + 1.0) / (prob.sum(dim=(0, 2, 3)) + target.sum(dim=(0, 2, 3)) + 1.0)
    return bce + (1.0 - dice.mean())


def train_arm(arm: Arm2D, seed: int, train: SliceSet, sched: Schedule, vit_weights: str = "mae") -> torch.nn.Module:
    """Train `arm` with `seed` on `train` (batches a pure function of (seed, step)); return the model in eval mode."""
    torch.manual_seed(seed)
    model = build_arm(arm, vit_weights)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=sched.lr, weight_decay=1e-4)
    images, masks = torch.from_numpy(train.images), torch.from_numpy(train.masks)
    for step in range(sched.steps):
        idx = torch.from_numpy(np.random.default_rng([seed, step]).integers(0, len(train), sched.batch))
        x, y = images[idx], masks[idx].float()
        scale = min(1.0, (step + 1) / sched.warmup) * 0.5 * (1 + np.cos(np.pi * step / sched.steps))
        for group in opt.param_groups:
            group["lr"] = sched.lr * scale
        loss = seg_loss(model.forward_slices(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def evaluate(model: torch.nn.Module, test: SliceSet, stride: int = 3, batch: int = 64) -> np.ndarray:
    """Dice (cases, organs): prediction sigmoid > 0.5 over every `stride`-th slice of each test case."""
    from medvlseg.eval.metrics import dice

    scores = np.zeros((len(test.cases), len(ORGANS)))
    with torch.no_grad():
        for c in range(len(test.cases)):
            idx = test.case_slices(c)[::stride]
            pred = np.concatenate([(model.forward_slices(torch.from_numpy(test.images[idx[i:i + batch]])) > 0).numpy()
                                   for i in range(0, len(idx), batch)])
            gt = test.masks[idx].astype(bool)
            scores[c] = [dice(pred[:, k], gt[:, k]) for k in range(len(ORGANS))]
    return scores


def device_name() -> str:
    """'cpu (<processor>, N threads)' — this loop runs on the CPU."""
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s))"


def run_record(arm: Arm2D, seed: int, train: SliceSet, test: SliceSet, sched: Schedule,
               vit_weights: str = "mae") -> dict:
    """Train + evaluate one (arm, seed); the record names device, seed, steps, cases, config and per-case scores."""
    t0 = time.perf_counter()
    model = train_arm(arm, seed, train, sched, vit_weights)
    t1 = time.perf_counter()
    scores = evaluate(model, test, sched.eval_stride)
    return {"experiment": "medvlm_slices", "arm": arm.name, "arm_config": asdict(arm), "seed": seed,
            "steps": sched.steps, "schedule": asdict(sched), "device": device_name(),
            "model_options": model.config.options,
            "trainable_parameters": model.parameter_groups(), "organs": list(ORGANS),
            "train_cases": train.case_ids, "test_cases": test.case_ids,
            "dice": {cid: dict(zip(ORGANS, map(float, row), strict=True))
                     for cid, row in zip(test.case_ids, scores, strict=True)},
            "train_seconds": round(t1 - t0, 1), "eval_seconds": round(time.perf_counter() - t1, 1)}


def score_matrix(records: list[dict], arm: str, seeds: list[int], cases: list[str], organs: tuple[str, ...]) -> np.ndarray:
    """(seeds, cases) mean Dice over `organs` of `arm`'s records (KeyError if a run is missing)."""
    by_seed = {r["seed"]: r for r in records if r["arm"] == arm}
    return np.array([[np.mean([by_seed[s]["dice"][c][o] for o in organs]) for c in cases] for s in seeds])
