"""CPU time per window of the exported network: PyTorch (eager, inference mode) vs onnxruntime (CPU provider) vs
TorchScript, on the same random windows, in one run; max |difference| of the logits and peak RSS.

One command: `.venv/bin/python benchmarks/bench_export.py [--model RUN_DIR] [--window 96] [--threads 2]`.
Without --model, a light LACAF run is trained for 3 steps on tiny phantoms (weights do not change the timing);
`--paper` builds the paper-width LACAF instead (about 16 s per 96³ window on 2 cores).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, min) seconds of `fn` over `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def _paper_run(tmp: Path) -> Path:
    """A run folder holding an untrained paper-width LACAF (MiniLM class embeddings)."""
    from medvlseg.models import build_model, get_preset, save_model
    from medvlseg.train.config import TrainConfig
    from medvlseg.utils.config import save

    run = tmp / "paper_run"
    run.mkdir()
    model = build_model(get_preset("lacaf", light=False, text_dim=384))
    save_model(run / "best", model)
    save(TrainConfig(preset="lacaf", light=False, patch_size=96), run / "config.yaml")
    return run


def main() -> None:
    """Export, then time the three engines on identical inputs."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="run folder (default: a light LACAF trained here for 3 steps)")
    ap.add_argument("--paper", action="store_true", help="time an untrained paper-width LACAF")
    ap.add_argument("--window", type=int, default=96, help="window edge, voxels")
    ap.add_argument("--batch", type=int, default=1, help="windows per call")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    from bench_predict import _make_run
    from medvlseg.infer.export import export_run
    from medvlseg.infer.onnx_net import OnnxNet
    from medvlseg.models import load_model

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        run = Path(args.model) if args.model else _paper_run(tmp) if args.paper else _make_run(tmp, 1.5)
        onnx_path = export_run(run, "onnx", out=tmp / "m.onnx", window=args.window)
        ts_path = export_run(run, "torchscript", out=tmp / "m.pt", window=args.window)
        model = load_model(run / "best").eval()
        ort_net = OnnxNet(onnx_path, threads=args.threads)
        scripted = torch.jit.load(str(ts_path)).eval()
        x = torch.rand(args.batch, ort_net.meta["in_channels"], *ort_net.window,
                       generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            ref = model(x)
            outs = {"onnxruntime": ort_net(x), "torchscript": scripted(x)}
            diff = {k: ((v - ref).abs().max().item(), (v.sigmoid() - ref.sigmoid()).abs().max().item())
                    for k, v in outs.items()}
            t_torch = _time(lambda: model(x), args.repeats)
            t_ort = _time(lambda: ort_net(x), args.repeats)
            t_ts = _time(lambda: scripted(x), args.repeats)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{model.config.preset} ({'light' if model.config.backbone.variant == 'light' else 'paper'} width, "
              f"{params:.2f} M params), window {ort_net.window} x batch {args.batch}, {args.threads} threads")
        for name, (med, best) in (("torch eager", t_torch), ("onnxruntime", t_ort), ("torchscript", t_ts)):
            d = diff.get(name.split()[0])
            extra = f", max |Δ logit| {d[0]:.1e}, |Δ prob| {d[1]:.1e} vs torch" if d else ""
            print(f"  {name:12s} median {med * 1e3:8.1f} ms/call (min {best * 1e3:.1f}){extra}; "
                  f"ratio to torch {med / t_torch[0]:.2f}x")
        print(f"  logits of torch: max |logit| {ref.abs().max().item():.2f}")
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
