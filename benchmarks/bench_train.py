"""Training-loop overhead: our `Trainer` (cache patches, MONAI augmentation, worker process, partial-label loss,
LR schedule, checkpoint + CSV log per epoch) vs a bare PyTorch loop doing the same forward/backward/step on
in-memory tensors, both measured in this run, for `lacaf` and `unet` (light CPU variants by default).

One command: `.venv/bin/python benchmarks/bench_train.py [--patch 96] [--batch 2] [--steps 12] [--paper]`.
Prints steps/s of each, the overhead ratio (ours / bare time per step, target ≤ 1.2x), data-wait time per step
and peak RSS. The first step of each is a warm-up and is excluded from the bare loop's timing; ours counts a
whole epoch (its warm-up included), so the ratio is conservative.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def seconds_per_step(model, in_channels: int, patch: int, batch: int, steps: int, lr: float = 8e-4) -> float:  # noqa: ANN001
    """Seconds per step of forward + partial-label loss + backward + AdamW step on fixed random tensors."""
    import torch

    from medvlseg.train.losses import partial_label_loss

    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-5)
    image = torch.rand(batch, in_channels, patch, patch, patch)
    label = torch.randint(0, 5, (batch, patch, patch, patch))
    annotated = torch.ones(batch, 4, dtype=torch.bool)

    def step() -> None:
        loss = partial_label_loss(model(image), label, annotated, model.activation)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def bare_loop(preset: str, light: bool, patch: int, batch: int, steps: int, in_channels: int) -> float:
    """Seconds per step of forward + loss + backward + AdamW step on fixed in-memory tensors."""
    import torch

    from medvlseg.train.config import TrainConfig
    from medvlseg.train.setup import build_run_model

    torch.manual_seed(0)
    model, _, _ = build_run_model(TrainConfig(preset=preset, light=light), in_channels)
    return seconds_per_step(model, in_channels, patch, batch, steps)


def ours(preset: str, light: bool, patch: int, batch: int, steps: int, cache: Path, out: Path) -> dict[str, float]:
    """Seconds per step and data wait per step of one epoch of `Trainer` on the cache."""
    from medvlseg.train.config import TrainConfig
    from medvlseg.train.trainer import Trainer

    config = TrainConfig(preset=preset, light=light, patch_size=patch, batch_size=batch, epochs=1,
                         steps_per_epoch=steps + 1, val_every=0, num_workers=1, device="cpu")
    row = Trainer(config, cache, out, progress=False).fit().history[0]
    return {"s_per_step": row["epoch_s"] / (steps + 1), "wait": row["data_wait_s_per_step"]}


def main() -> None:
    """Build a small phantom cache, time both loops per preset, print ratios and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--paper", action="store_true", help="paper-width backbones (minutes per step on CPU)")
    parser.add_argument("--presets", default="lacaf,unet")
    args = parser.parse_args()

    from medvlseg.data.cache import build_cache
    from medvlseg.data.phantom.benchmark import write_benchmark
    from medvlseg.data.preprocess import PreprocessConfig

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        manifest = write_benchmark(tmp_path / "ph", "small", seed=1, workers=2, preview=False)
        build_cache(manifest, tmp_path / "cache", PreprocessConfig(), workers=2, progress=False)
        print(f"patch {args.patch}³, batch {args.batch}, {args.steps} timed steps, "
              f"{'paper' if args.paper else 'light'} backbones")
        print(f"{'preset':8s} {'bare s/step':>11s} {'ours s/step':>11s} {'ratio':>6s} {'data wait s/step':>17s}")
        for preset in args.presets.split(","):
            bare = bare_loop(preset, not args.paper, args.patch, args.batch, args.steps, 2)
            mine = ours(preset, not args.paper, args.patch, args.batch, args.steps, tmp_path / "cache",
                        tmp_path / f"run_{preset}")
            print(f"{preset:8s} {bare:11.3f} {mine['s_per_step']:11.3f} {mine['s_per_step'] / bare:6.2f} "
                  f"{mine['wait']:17.4f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: main {peak:.0f} MiB, largest worker {kids:.0f} MiB")


if __name__ == "__main__":
    main()
