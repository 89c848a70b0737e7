"""`medvlseg export RUN_DIR --format onnx|torchscript|monai-bundle`: the network with its class embeddings folded in."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg export` and its flags."""
    p = subparsers.add_parser(
        "export", parents=parents, help="deployable network (ONNX, TorchScript, MONAI bundle)",
        description="Export a run's network for fixed-size windows, class embeddings folded in (no text encoder "
                    "needed). `medvlseg predict --engine onnx` runs RUN_DIR/model.onnx with onnxruntime; monai-bundle writes a "
                    "MONAI bundle folder (default RUN_DIR/monai_bundle) for `python -m monai.bundle run`.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="training run folder")
    p.add_argument("--format", choices=("onnx", "torchscript", "monai-bundle"), default="onnx")
    p.add_argument("--out", default=None, help="output file or bundle folder (default: RUN_DIR/model.onnx, "
                                               "model.torchscript.pt or monai_bundle/)")
    p.add_argument("--overwrite", action="store_true", help="monai-bundle: replace an existing bundle folder")
    p.add_argument("--window", type=int, default=None, help="window edge in voxels (default: training patch)")
    p.add_argument("--checkpoint", default="best", help="checkpoint stem in the run folder (best, last)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print the file and its window."""
    from pathlib import Path

    from medvlseg.commands.checks import check_opset, check_patch_size
    from medvlseg.infer.export import export_run
    from medvlseg.train.run_folder import read_run

    read_run(Path(args.run_dir)).checkpoint(args.checkpoint)
    if args.format == "onnx":
        check_opset(args.opset)
    if args.window is not None:
        check_patch_size(args.window, "--window", divisor=1, name="--window", multiple=False)
    if args.format == "monai-bundle":
        from medvlseg.infer.bundle import export_bundle

        folder = export_bundle(args.run_dir, args.out, args.checkpoint, args.window, args.overwrite)
        print(f"{folder}: MONAI bundle (cd there; python -m monai.bundle run --config_file configs/inference.json "
              "--dataset_dir CT_FOLDER --output_dir OUT)")
        return 0
    path = export_run(args.run_dir, args.format, args.out, args.window, args.checkpoint, args.opset)
    print(f"{path}: {args.format} export ({path.stat().st_size / 1e6:.1f} MB); side file {path.name}.json")
    return 0
