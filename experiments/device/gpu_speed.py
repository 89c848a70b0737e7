"""GPU speed check (issue 21, item 6): predict time of a 512x512x300 CT end to end (target ≤ 5 s on an H100/H200
class GPU) with the shipped default model, default and --fast modes, and training steps/s of the light and full
LACAF (bf16 autocast, the trainer's CUDA default), on one CUDA device.

One command (on the GPU machine, after the project's environment is set up, e.g. by gpu_full_runs.sh's bundle):
`python experiments/device/gpu_speed.py [--out DIR] [--patch 96] [--batch 2] [--steps 20]`.
Writes DIR/gpu_speed.json (default $OUT or /tmp/gpu_out) and prints one line per figure. Each predict runs twice
(the first warms up CUDA/cuDNN); the second's per-stage seconds are reported, with the GPU model name.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def synth_ct(path: Path, shape: tuple[int, int, int] = (512, 512, 300), spacing: float = 0.7) -> Path:
    """A chest-like int16 CT (HU): elliptic body, two lung ellipsoids, bright tubes (vessels), noise σ 20 HU."""
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(0)
    nx, ny, nz = shape
    x = (np.arange(nx)[:, None, None] - nx / 2) / (0.45 * nx)
    y = (np.arange(ny)[None, :, None] - ny / 2) / (0.38 * ny)
    z = (np.arange(nz)[None, None, :] - nz / 2) / (0.45 * nz)
    ct = np.where(x ** 2 + y ** 2 <= 1, 40, -1000).astype(np.int16)
    for cx in (-0.45, 0.45):
        lung = ((x - cx) / 0.35) ** 2 + (y / 0.7) ** 2 + z ** 2 <= 1
        ct[lung] = -850
        tube = ((x - cx) / 0.03) ** 2 + (y / 0.03) ** 2 <= 1
        ct[tube & lung] = 300
    ct += rng.normal(0, 20, shape).astype(np.int16)
    nib.save(nib.Nifti1Image(ct, np.diag([spacing] * 3 + [1.0])), str(path))
    return path


def predict_times(ct: Path, out: Path, fast: bool) -> dict:
    """Second of two predict_file runs of the shipped default model on CUDA: total and per-stage seconds."""
    import torch

    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.models.zoo import resolve_model

    predictor = Predictor.from_run(resolve_model(None), PredictOptions(fast=fast, device="cuda"))
    result = {}
    for _ in range(2):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        pred = predictor.predict_file(ct, out)
        torch.cuda.synchronize()
        result = {"total_s": time.perf_counter() - t0, "stages_s": pred.timings, "engine": predictor.options.engine}
    return result


def train_steps_per_s(light: bool, patch: int, batch: int, steps: int) -> float:
    """Training steps/s (forward + partial-label loss + backward + AdamW) of LACAF on CUDA with bf16 autocast."""
    import torch

    from medvlseg.train.config import TrainConfig
    from medvlseg.train.losses import partial_label_loss
    from medvlseg.train.setup import build_run_model

    torch.manual_seed(0)
    model = build_run_model(TrainConfig(preset="lacaf", light=light), 1)[0].cuda()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=8e-4)
    image = torch.rand(batch, 1, patch, patch, patch, device="cuda")
    label = torch.randint(0, 5, (batch, patch, patch, patch), device="cuda")
    annotated = torch.ones(batch, 4, dtype=torch.bool, device="cuda")

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(image)
        loss = partial_label_loss(logits.float(), label, annotated, model.activation)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    """Predict (default, --fast) and training figures; JSON to --out."""
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu_out"))
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("gpu_speed.py: no CUDA device")
    figures: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        ct = synth_ct(Path(tmp) / "ct.nii.gz")
        for fast in (False, True):
            key = "predict_fast" if fast else "predict_default"
            figures[key] = predict_times(ct, Path(tmp) / "av.nii.gz", fast)
            print(f"{key}: {figures[key]['total_s']:.2f} s ({figures[key]['stages_s']})", flush=True)
    for light in (True, False):
        key = f"train_{'light' if light else 'full'}_steps_per_s"
        figures[key] = train_steps_per_s(light, args.patch, args.batch, args.steps)
        print(f"{key} (patch {args.patch}, batch {args.batch}, bf16): {figures[key]:.2f}", flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "gpu_speed.json").write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
