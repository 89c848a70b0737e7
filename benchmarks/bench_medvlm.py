"""Med-VLM (seed 003) cost: parameter counts (trainable / frozen, light and full) and CPU time per training step.

One command: `.venv/bin/python benchmarks/bench_medvlm.py [--patch 32] [--batch 2] [--steps 5] [--threads 1]`.
Counts: light (tiny ViT + MiniLM), full with MiniLM (the offline default), full with a BERT-base-sized random
text model (the paper's BioBERT-base shape; the paper reports ~5.2 M trainable of ~200 M). Timing: a bare loop
(forward + partial-label loss + backward + AdamW step on fixed in-memory tensors, first step excluded) for light
medvlm with simple and complex descriptions, against light lacaf measured in the same run; plus peak RSS.
"""

from __future__ import annotations

import argparse
import resource


def counts(light: bool, text: dict | None) -> tuple[dict[str, int], dict[str, int]]:
    """(trainable/frozen counts, trainable per part) of a medvlm build."""
    from medvlseg.models import build_model, get_preset

    overrides: dict = {}
    if text is not None:
        overrides = {"options.text": text, "text_dim": 768}
    model = build_model(get_preset("medvlm", light=light, **overrides))
    return model.parameter_counts(), model.parameter_groups()


def step_time(preset: str, descriptions: str, patch: int, batch: int, steps: int) -> float:
    """Seconds per optimizer step of the light model on fixed random tensors (2 input channels, 5-class)."""
    import torch

    from bench_train import seconds_per_step
    from medvlseg.train.config import TextConfig, TrainConfig
    from medvlseg.train.setup import build_run_model

    torch.manual_seed(0)
    config = TrainConfig(preset=preset, light=True, text=TextConfig(descriptions=descriptions))
    model, _, _ = build_run_model(config, 2)
    model.train()
    return seconds_per_step(model, 2, patch, batch, steps, lr=3e-4)


def main() -> None:
    """Print parameter counts, seconds per step and the ratio against lacaf light, and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=32)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    print(f"{'build':34s} {'trainable':>11s} {'frozen':>12s} {'trainable %':>11s}  trainable by part")
    for label, light, text in (("light (ViT 96-d x2, MiniLM)", True, None),
                               ("full (ViT-base, MiniLM)", False, None),
                               ("full (ViT-base, BERT-base random)", False, {"name": "random_bert"})):
        c, groups = counts(light, text)
        share = 100.0 * c["trainable"] / (c["trainable"] + c["frozen"])
        print(f"{label:34s} {c['trainable']:11,d} {c['frozen']:12,d} {share:10.2f}%  {groups}")
    print("paper (seed 003, 3.1 / 4.1):       ~5,200,000  ~195,000,000       ~2.6%")
    print(f"\nCPU, {args.threads} thread(s), light, patch {args.patch}³ (= {args.patch} axial slices), "
          f"batch {args.batch}, {args.steps} timed steps")
    base = step_time("lacaf", "", args.patch, args.batch, args.steps)
    print(f"{'lacaf light (baseline)':34s} {base:8.3f} s/step")
    for level in ("simple", "complex"):
        t = step_time("medvlm", level, args.patch, args.batch, args.steps)
        print(f"{'medvlm light, ' + level + ' descriptions':34s} {t:8.3f} s/step  ratio {t / base:5.2f}x lacaf")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
