"""Seed 004 costs: parameter counts of segvol vs segevolution (light and full), and seconds per training step
(forward + partial-label loss + backward + AdamW) without MoA, with MoA on CT inputs (identity path), with MoA on
MRI inputs (LoRA path), and of the full segevolution (MoA + context priors) against the segvol baseline.

One command: `.venv/bin/python benchmarks/bench_segevolution.py [--full] [--patch 32] [--batch 2] [--steps 8]
[--device cpu|cuda] [--threads N]`. All variants are built first and then stepped in interleaved rounds (2 untimed
warm-up rounds), so load changes on a shared machine hit them alike; median seconds per step are compared with
the no-MoA model (segevolution without MoA, priors kept) of the same run. Peak memory: CUDA max_memory_allocated
per variant on GPU; on CPU the process's peak RSS (all variants together).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

# name → (preset, option overrides, modality of the batch)
VARIANTS: dict[str, tuple[str, dict, str]] = {
    "segvol": ("segvol", {}, "ct"),
    "no_moa": ("segevolution", {"options.moa": False}, "ct"),
    "moa_ct": ("segevolution", {}, "ct"),
    "moa_mri": ("segevolution", {}, "mri"),
    "moa_mixed": ("segevolution", {}, "mixed"),
}


def parameter_counts() -> dict[str, int]:
    """Trainable parameters of segvol and segevolution, light and full (MiniLM 384-d text, 2 input channels)."""
    from medvlseg.models import build_model, get_preset

    out = {}
    for light in (True, False):
        for name in ("segvol", "segevolution"):
            model = build_model(get_preset(name, light=light, text_dim=384, in_channels=2))
            out[f"{name}{'_light' if light else '_full'}"] = model.parameter_counts()["trainable"]
    return out


class Variant:
    """One model + optimizer + batch modality; `step()` runs one training step."""

    def __init__(self, name: str, full: bool, batch: int, device: "torch.device") -> None:  # noqa: F821
        import torch

        from medvlseg.models import build_model, get_preset

        preset, overrides, modality = VARIANTS[name]
        torch.manual_seed(0)
        self.name, self.device = name, device
        self.model = build_model(get_preset(preset, light=not full, text_dim=384, in_channels=2, **overrides))
        self.model.set_class_embeddings(torch.randn(4, 384))
        self.model.to(device).train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4, weight_decay=1e-5)
        self.mods = [("ct", "mri")[i % 2] for i in range(batch)] if modality == "mixed" else [modality] * batch
        self.params = self.model.parameter_counts()["trainable"]
        self.times: list[float] = []
        self.peak_mb = 0.0

    def step(self, image, label, annotated, timed: bool) -> None:  # type: ignore[no-untyped-def]
        """One forward + loss + backward + AdamW step (bf16 autocast on CUDA); appends its seconds if timed."""
        import torch

        from medvlseg.train.losses import partial_label_loss

        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits = self.model(image, modality=self.mods)
        loss = partial_label_loss(logits.float(), label, annotated, "sigmoid")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if cuda:
            torch.cuda.synchronize()
            self.peak_mb = max(self.peak_mb, torch.cuda.max_memory_allocated() / 2**20)
        if timed:
            self.times.append(time.perf_counter() - t0)


def run(full: bool, patch: int, batch: int, steps: int, device: str) -> dict[str, Variant]:
    """Build every variant, then interleave them step by step (2 untimed warm-up rounds) so that load changes
    on a shared machine hit all variants alike."""
    import torch

    dev = torch.device(device)
    variants = {name: Variant(name, full, batch, dev) for name in VARIANTS}
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 2, patch, patch, patch, generator=gen).to(dev)
    label = torch.randint(0, 5, (batch, patch, patch, patch), generator=gen).to(dev)
    annotated = torch.ones(batch, 4, dtype=torch.bool, device=dev)
    for r in range(steps + 2):
        for v in variants.values():
            v.step(image, label, annotated, timed=r >= 2)
    return variants


def main() -> None:
    """Parse flags, print parameter counts, the per-step timing table (median s/step) and ratios."""
    import statistics

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="full-size presets (patch 16, width 768, depth 12)")
    ap.add_argument("--patch", type=int, default=32, help="training patch edge, voxels")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per variant (after 2 warm-up rounds)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print("trainable parameters:", json.dumps(parameter_counts()))
    variants = run(args.full, args.patch, args.batch, args.steps, args.device)
    cuda = args.device.startswith("cuda")
    size = "full" if args.full else "light"
    print(f"{size} presets, patch {args.patch}^3, batch {args.batch}, {args.steps} timed steps each, "
          f"device {args.device}" + (f" ({torch.cuda.get_device_name()})" if cuda else ""))
    print(f"{'variant':<10} {'params':>11} {'median s/step':>14} {'ratio':>7} {'CUDA peak MB' if cuda else '':>13}")
    med = {n: statistics.median(v.times) for n, v in variants.items()}
    base = med["no_moa"]
    for n, v in variants.items():
        peak = f"{v.peak_mb:>13.1f}" if cuda else ""
        print(f"{n:<10} {v.params:>11,} {med[n]:>14.4f} {med[n] / base:>7.3f} {peak}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"MoA overhead vs no MoA: CT (identity path) {med['moa_ct'] / base:.3f}x, MRI (LoRA) "
          f"{med['moa_mri'] / base:.3f}x, mixed batch {med['moa_mixed'] / base:.3f}x; segevolution (MoA + priors) "
          f"on CT vs segvol: {med['moa_ct'] / med['segvol']:.3f}x; process peak RSS {rss:.0f} MB (all variants)")


if __name__ == "__main__":
    main()
