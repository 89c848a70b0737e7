"""Benchmark model variants on one window: parameters, FLOPs, forward and forward+backward time, peak memory.

One command: `.venv/bin/python benchmarks/bench_models.py [--window 96] [--variants lacaf-light,unet-light,...]`.
Each variant runs in its own subprocess (so peak RSS is per variant) with torch.set_num_threads(--threads).
Times are the median of --repeats runs after one warm-up (paper-width variants: --paper-repeats, no warm-up,
since one forward+backward takes minutes on 2 cores). Ratios are against the baseline variant (--baseline)
measured in the same run. Results go to stdout and, with --out, to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS: dict[str, tuple[str, bool, dict[str, object]]] = {
    "lacaf-paper": ("lacaf", False, {}),
    "lacaf-light": ("lacaf", True, {}),
    "universal-paper": ("universal", False, {}),
    "universal-light": ("universal", True, {}),
    "unet-paper": ("unet", False, {}),
    "unet-light": ("unet", True, {}),
    "lacaf-monai_unet-light": ("lacaf", True, {"backbone.name": "monai_unet"}),
    "lacaf-dynunet-light": ("lacaf", True, {"backbone.name": "dynunet"}),
    "lacaf-segresnet-light": ("lacaf", True, {"backbone.name": "segresnet"}),
}
DEFAULT = "unet-light,lacaf-light,universal-light,lacaf-monai_unet-light,lacaf-dynunet-light,lacaf-segresnet-light"


def _timed(fn, repeats: int, warmup: int) -> float:  # noqa: ANN001
    """Median wall time (s) of `fn()` over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_one(name: str, window: int, classes: int, threads: int, repeats: int, warmup: int) -> dict[str, object]:
    """Measure one variant in this process; returns a JSON-able dict (times in s, memory in MiB)."""
    import torch

    from medvlseg.models import build_model, get_preset
    from medvlseg.models.flops import count_flops

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    preset, light, overrides = VARIANTS[name]
    model = build_model(get_preset(preset, light=light, num_classes=classes, **overrides))
    model.set_class_embeddings(torch.randn(classes, model.config.text_dim))
    x = torch.randn(1, model.config.in_channels, window, window, window)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def forward_backward() -> None:
        model.zero_grad(set_to_none=True)
        model(x).float().mean().backward()

    model.eval()
    fwd = _timed(forward, repeats, warmup)
    model.train()
    fwd_bwd = _timed(forward_backward, repeats, warmup)
    return {
        "variant": name,
        "params": model.parameter_counts()["trainable"],
        "gflops_fwd": count_flops(model, (window,) * 3) / 1e9,
        "gflops_fwd_bwd": count_flops(model, (window,) * 3, backward=True) / 1e9,
        "fwd_s": fwd,
        "fwd_bwd_s": fwd_bwd,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every requested variant in a subprocess and print a table with ratios to the baseline."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default=DEFAULT, help=f"comma-separated, from {sorted(VARIANTS)}")
    p.add_argument("--baseline", default="unet-light", help="variant the ratios are relative to")
    p.add_argument("--window", type=int, default=96, help="cubic window edge in voxels")
    p.add_argument("--classes", type=int, default=4, help="number of classes K")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--paper-repeats", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        paper = args.one.endswith("-paper")
        repeats, warmup = (args.paper_repeats, 0) if paper else (args.repeats, 1)
        print(json.dumps(run_one(args.one, args.window, args.classes, args.threads, repeats, warmup)))
        return 0
    names = [n for n in args.variants.split(",") if n]
    if args.baseline not in names:
        names.insert(0, args.baseline)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variants {unknown}; known: {sorted(VARIANTS)}")
    common = ["--window", str(args.window), "--classes", str(args.classes), "--threads", str(args.threads),
              "--repeats", str(args.repeats), "--paper-repeats", str(args.paper_repeats)]
    rows = []
    for name in names:
        out = subprocess.run([sys.executable, __file__, "--one", name, *common], check=True, capture_output=True,
                             text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"done {name}", file=sys.stderr, flush=True)
    base = next(r for r in rows if r["variant"] == args.baseline)
    print(f"window {args.window}^3, batch 1, K={args.classes}, {args.threads} threads; ratio = time / {args.baseline}")
    print(f"{'variant':26s} {'params':>10s} {'GFLOP fwd':>10s} {'GFLOP f+b':>10s} {'fwd s':>8s} {'x':>6s} "
          f"{'f+b s':>8s} {'x':>6s} {'peak MiB':>9s}")
    for r in rows:
        print(f"{r['variant']:26s} {r['params']:>10,d} {r['gflops_fwd']:>10.1f} {r['gflops_fwd_bwd']:>10.1f} "
              f"{r['fwd_s']:>8.3f} {r['fwd_s'] / base['fwd_s']:>6.1f} {r['fwd_bwd_s']:>8.3f} "
              f"{r['fwd_bwd_s'] / base['fwd_bwd_s']:>6.1f} {r['peak_rss_mib']:>9.0f}")
    if args.out:
        from medvlseg.utils.atomic import write_json

        write_json(args.out, {"args": {k: str(v) for k, v in vars(args).items()}, "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
