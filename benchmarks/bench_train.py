"""Training-loop overhead: our `Trainer` (cache patches, MONAI augmentation, worker process, partial-label loss,
LR schedule, checkpoint + CSV log per epoch) vs a bare PyTorch loop doing the same forward/backward/step on
in-memory tensors, both measured in this run, for `lacaf` and `unet` (light CPU variants by default).

One command: `.venv/bin/python benchmarks/bench_train.py [--patch 96] [--batch 2] [--steps 12] [--paper]`.
Prints steps/s of each, the overhead ratio (ours / bare time per step, target ≤ 1.2x), data-wait time per step
and peak RSS. The first step of each is a warm-up and is excluded from the bare loop's timing; ours counts a
whole epoch (its warm-up included), so the ratio is conservative.

Throughput (issue 21): `.venv/bin/python benchmarks/bench_train.py --throughput [--patch 48] [--batch 1]
[--steps 3] [--threads 2]` times one training step (forward + loss + backward + AdamW) of the light and the full
(paper-width) LACAF as eager float32, channels_last_3d, bf16 autocast and torch.compile, counts its FLOPs
(torch.utils.flop_counter) and prints GFLOP/s against the machine's float32 matmul GFLOP/s at the same thread
count, measured in the same run (before and after the models; the mean is the baseline).
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


VARIANTS = ("eager", "channels_last_3d", "bf16", "compile")


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    """Float32 n x n matmul GFLOP/s at torch's current thread count (best of `reps`)."""
    import torch

    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def variant_step(model, variant: str, in_channels: int, patch: int, batch: int, steps: int) -> dict[str, float]:  # noqa: ANN001
    """Seconds per training step of `model` run as `variant` (first steps = warm-up/compile, timed apart)."""
    import torch

    from medvlseg.train.losses import partial_label_loss

    fmt = torch.channels_last_3d if variant == "channels_last_3d" else torch.contiguous_format
    model = model.to(memory_format=fmt)
    net = torch.compile(model) if variant == "compile" else model
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=8e-4, weight_decay=1e-5)
    image = torch.rand(batch, in_channels, patch, patch, patch).to(memory_format=fmt)
    label = torch.randint(0, 5, (batch, patch, patch, patch))
    annotated = torch.ones(batch, 4, dtype=torch.bool)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "bf16"):
            logits = net(image)
        loss = partial_label_loss(logits.float(), label, annotated, model.activation)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    step()
    step()  # compile + recompile-free second step / allocator warm-up
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return {"s_per_step": (time.perf_counter() - t0) / steps, "warmup_s": warm}


def step_flops(model, in_channels: int, patch: int, batch: int) -> float:  # noqa: ANN001
    """FLOPs of one eager float32 training step (forward + loss + backward), counted by torch's FlopCounterMode."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from medvlseg.train.losses import partial_label_loss

    image = torch.rand(batch, in_channels, patch, patch, patch)
    label = torch.randint(0, 5, (batch, patch, patch, patch))
    with FlopCounterMode(display=False) as counter:
        partial_label_loss(model(image), label, torch.ones(batch, 4, dtype=torch.bool), model.activation).backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def throughput(patch: int, batch: int, steps: int, variants: list[str]) -> None:
    """Print training GFLOP/s of the light and full LACAF per variant against the matmul baseline of this run."""
    import copy

    import torch

    from medvlseg.train.config import TrainConfig
    from medvlseg.train.setup import build_run_model

    threads = torch.get_num_threads()
    before = matmul_gflops()
    print(f"float32 {2048}² matmul at {threads} threads: {before:.1f} GFLOP/s (before)", flush=True)
    rows = []
    for light in (True, False):
        torch.manual_seed(0)
        base, _, _ = build_run_model(TrainConfig(preset="lacaf", light=light), 1)
        flops = step_flops(base, 1, patch, batch)
        for variant in variants:
            r = variant_step(copy.deepcopy(base), variant, 1, patch, batch, steps)
            rows.append(("light" if light else "full", variant, flops, r))
            print(f"  {'light' if light else 'full':5s} {variant:16s} {r['s_per_step']:7.2f} s/step, "
                  f"{flops / r['s_per_step'] / 1e9:6.1f} GFLOP/s (warm-up {r['warmup_s']:.0f} s)", flush=True)
    after = matmul_gflops()
    ref = (before + after) / 2
    print(f"float32 matmul: {after:.1f} GFLOP/s (after); baseline = mean {ref:.1f} GFLOP/s")
    print(f"{'model':6s} {'variant':16s} {'GFLOP/step':>10s} {'s/step':>7s} {'GFLOP/s':>8s} {'vs matmul':>9s} "
          f"{'vs eager':>8s}")
    for name, variant, flops, r in rows:
        eager = next(x[3]["s_per_step"] for x in rows if x[0] == name and x[1] == "eager")
        rate = flops / r["s_per_step"] / 1e9
        print(f"{name:6s} {variant:16s} {flops / 1e9:10.1f} {r['s_per_step']:7.2f} {rate:8.1f} {rate / ref:9.2f} "
              f"{eager / r['s_per_step']:7.2f}x")


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
    parser.add_argument("--throughput", action="store_true", help="GFLOP/s of light + full LACAF vs matmul only")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.throughput:
        import torch

        torch.set_num_threads(args.threads)
        throughput(args.patch, args.batch, args.steps, args.variants)
        return

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
