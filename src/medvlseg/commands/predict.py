"""`medvlseg predict -i INPUT -o OUTPUT [-m RUN_DIR|MODEL]`: CT in, label map out in the input's exact geometry.

Without -m the shipped default model is used (checksums verified, no text encoder loaded)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from medvlseg.commands.mesh import add_mesh_flags

if TYPE_CHECKING:
    from medvlseg.infer.batch import BatchItem


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg predict` and its flags."""
    p = subparsers.add_parser(
        "predict", parents=parents, help="segment pulmonary arteries and veins",
        description="Predict a label map (1 artery, 2 vein; --classes 5: 1 L artery, 2 L vein, 3 R artery, "
                    "4 R vein) in the input's exact geometry. INPUT: an image file, a DICOM series folder, a "
                    "folder of images or a manifest JSON (then OUTPUT is a folder).",
    )
    p.add_argument("-i", "--input", required=True, help="image file, DICOM folder, folder of images or manifest")
    p.add_argument("-o", "--output", required=True, help="label map file (single input; *.seg.nrrd writes a 3D Slicer segmentation) or output folder")
    p.add_argument("-m", "--model", default=None,
                   help="training run folder or shipped model name (default: the shipped `default` model; "
                        "`medvlseg models` lists them)")
    p.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                   help="free-text class prompt (repeatable; one output label per prompt, in order)")
    p.add_argument("--box", default=None, metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="segevolution/segvol: box prompt, two opposite corners in voxel indices of the input "
                        "file's own grid (single input; zoom-out–zoom-in inference)")
    p.add_argument("--point", action="append", default=[], metavar="X,Y,Z,LABEL",
                   help="segevolution/segvol: point prompt in input-file voxel indices, LABEL 1 positive or "
                        "0 negative (repeatable)")
    p.add_argument("--modality", default=None, help="segevolution: input modality (ct, mri); default ct")
    p.add_argument("--classes", type=int, choices=(3, 5), default=3, help="3: artery/vein; 5: left/right kept")
    p.add_argument("--probabilities", action="store_true", help="also write <case>_probabilities.nii.gz")
    p.add_argument("--tta", action="store_true", help="mirroring test-time augmentation over the 3 axes")
    p.add_argument("--fast", action="store_true", help="2 mm spacing, no TTA, overlap 0.25 (CPU)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 … (default: cuda if present)")
    p.add_argument("--threshold", type=float, default=0.5, help="sigmoid probability threshold")
    p.add_argument("--overlap", type=float, default=0.5, help="sliding-window overlap fraction in [0, 1)")
    p.add_argument("--sw-batch-size", type=int, default=2, help="windows per forward pass")
    p.add_argument("--patch-size", type=int, default=None, help="window edge in voxels (default: training's)")
    p.add_argument("--min-component-mm3", type=float, default=20.0,
                   help="drop connected components smaller than this (mm³, per class; 0 keeps all)")
    p.add_argument("--lung-margin-mm", type=float, default=10.0,
                   help="keep components touching the lungs dilated by this margin (mm; negative: off)")
    p.add_argument("--refine", choices=("none", "topology"), default="none",
                   help="topology: label whole vessel segments artery or vein from a vessel graph (trees stay "
                        "one class per branch); none: the network's voxel-wise labels")
    p.add_argument("--split", default=None, help="manifest split to predict (default: all cases)")
    p.add_argument("--ext", default=".nii.gz", help="output extension in folder mode (.nii.gz, .nrrd, .mha; .seg.nrrd: 3D Slicer segmentation "
                        "with named, coloured segments)")
    p.add_argument("--engine", choices=("auto", "torch", "onnx", "openvino"), default="auto",
                   help="onnx/openvino: run RUN_DIR/model.onnx (from `medvlseg export`) on CPU with onnxruntime/"
                        "OpenVINO; auto: the CPU default engine when that export is current, else torch (logged)")
    p.add_argument("--meshes", action="store_true", help="also write one surface mesh per class (<case>_meshes/)")
    add_mesh_flags(p)
    p.add_argument("--report", action="store_true", help="also write <case>_report.png (overlays + MIP)")
    p.add_argument("--dicom-seg", action="store_true", help="also write <case>_seg.dcm (DICOM series inputs)")
    p.add_argument("--fill-nonfinite", action="store_true",
                   help="replace NaN/infinite voxels by the image minimum (with a warning) instead of refusing")
    p.add_argument("--allow-gaps", action="store_true",
                   help="DICOM: interpolate across missing slices instead of refusing the series")
    p.add_argument("--statistics", action="store_true",
                   help="also write <case>_statistics.json (per class and lung side: volume ml, HU mean/median, "
                        "surface mm², components, skeleton length mm, branch points; artery/vein volume ratio); "
                        "folder mode adds statistics.csv")
    p.add_argument("--html", action="store_true",
                   help="also write <case>_view.html: an offline page (NiiVue) with the CT, the label overlay in three "
                        "planes and the 3D vessel meshes")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """PredictOptions from parsed flags; InputError for out-of-range values."""
    from medvlseg.errors import InputError
    from medvlseg.infer.predictor import PredictOptions

    where = args.model or "default model"
    if not 0.0 <= args.overlap < 1.0:
        raise InputError(where, f"--overlap must be in [0, 1), got {args.overlap}")
    if not 0.0 < args.threshold < 1.0:
        raise InputError(where, f"--threshold must be in (0, 1), got {args.threshold}")
    if args.sw_batch_size < 1:
        raise InputError(where, f"--sw-batch-size must be ≥ 1, got {args.sw_batch_size}")
    if any(not t.strip() for t in args.prompt):
        raise InputError(where, "--prompt must not be empty")
    if args.engine in ("onnx", "openvino") and (args.prompt or args.tta or args.patch_size or args.box or args.point):
        raise InputError(where, f"--engine {args.engine} runs the exported fixed-window network: no --prompt, "
                                     "--tta, --patch-size, --box or --point")
    from medvlseg.commands.checks import check_device, check_patch_size
    from medvlseg.infer.spatial_prompts import parse_box, parse_point

    check_device(args.device)
    if args.patch_size is not None:
        check_patch_size(args.patch_size, "--patch-size", divisor=1, name="--patch-size", multiple=False)
    box = parse_box(args.box, args.input) if args.box else None
    points = tuple(parse_point(p, args.input) for p in args.point)
    if (box or points) and not is_single_input(args.input):
        raise InputError(args.input, "--box / --point need a single input image (their voxels are that file's)")
    return PredictOptions(
        engine=args.engine, classes=args.classes, threshold=args.threshold, overlap=args.overlap,
        sw_batch_size=args.sw_batch_size, tta=args.tta, fast=args.fast, device=args.device, min_component_mm3=args.min_component_mm3,
        lung_margin_mm=args.lung_margin_mm, probabilities=args.probabilities,
        prompts=tuple(t.strip() for t in args.prompt), patch_size=args.patch_size, box=box, points=points,
        modality=args.modality, refine=args.refine, fill_nonfinite=args.fill_nonfinite,
        allow_gaps=args.allow_gaps,
    )


def extras_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """CaseExtras (meshes, PNG report, DICOM-SEG) from parsed flags."""
    from medvlseg.commands.checks import check_mesh_formats
    from medvlseg.commands.mesh import mesh_formats
    from medvlseg.infer.extras import CaseExtras

    if args.meshes:
        check_mesh_formats(mesh_formats(args.mesh_format))
    return CaseExtras(meshes=args.meshes, report=args.report, dicom_seg=args.dicom_seg, statistics=args.statistics,
                      html=args.html,
                      mesh_formats=mesh_formats(args.mesh_format), mesh_faces=args.mesh_faces,
                      mesh_smooth=args.mesh_smooth, mesh_coords=args.mesh_coords)


def is_single_input(path: str) -> bool:
    """True when INPUT names one image (file or DICOM folder), as `infer.batch.is_single` decides."""
    from pathlib import Path

    from medvlseg.infer.batch import is_single

    return Path(path).exists() and is_single(Path(path))


def check_outputs(args: argparse.Namespace, inp, out, single: bool) -> None:  # type: ignore[no-untyped-def]
    """Before any work: the output is not the input, has a supported extension, can be written; --dicom-seg
    applies to a single input only when it is a DICOM series."""
    from medvlseg.commands.checks import check_dicom_seg_input
    from medvlseg.errors import InputError
    from medvlseg.io.checks import check_output_file, check_output_folder
    from medvlseg.io.image import IMAGE_EXTS

    if single:
        check_output_file(inp, out, IMAGE_EXTS)
        if args.dicom_seg:
            check_dicom_seg_input(inp)
        return
    if args.ext not in IMAGE_EXTS:
        raise InputError(out, f"--ext {args.ext!r} is not an image extension (use one of {', '.join(IMAGE_EXTS)})")
    check_output_folder(inp, out)


def run(args: argparse.Namespace) -> int:
    """Predict one input (OUTPUT a file) or many (OUTPUT a folder; sharded under torchrun); exit 1 on failures."""
    import logging
    import sys
    from pathlib import Path

    from medvlseg.errors import InputError
    from medvlseg.infer.batch import collect_inputs, is_single
    from medvlseg.infer.predictor import Predictor
    from medvlseg.infer.shards import run_sharded

    logging.getLogger("medvlseg").setLevel(logging.INFO)
    inp, out = Path(args.input), Path(args.output)
    if not inp.exists():
        raise InputError(inp, "input not found")
    options = options_from_args(args)
    extras = extras_from_args(args)
    after = extras if extras.any else None
    single = is_single(inp)
    check_outputs(args, inp, out, single)
    if single and out.exists() and not args.overwrite:
        print(f"{out}: exists, skipped (use --overwrite)", file=sys.stderr)
        return 0
    items = collect_inputs(inp, args.split)
    from medvlseg.models.zoo import resolve_model

    predictor = Predictor.from_run(resolve_model(args.model), options)
    if single:
        pred = predictor.predict_file(inp, out, after)
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in pred.timings.items())
        print(f"{out}: {len(pred.names)} labels ({', '.join(pred.names)}); {stages}")
        return 0
    report, shard = run_sharded(lambda i, o: predictor.predict_file(i, o, after), items, out,
                                overwrite=args.overwrite, ext=args.ext, progress=args.progress)
    if shard.is_main:
        print(f"{out}: {len(report.done)} predicted, {len(report.skipped)} skipped, {len(report.failed)} failed"
              + (f" ({shard.world_size} ranks)" if shard.world_size > 1 else ""))
        for name, reason in report.skipped.items():
            print(f"medvlseg predict: skipped: {name}: {reason}", file=sys.stderr)
        for name, error in report.failed.items():
            print(f"medvlseg predict: error: {name}: {error}", file=sys.stderr)
        if args.statistics:
            print(f"{write_folder_statistics(out, items, args.ext)}: statistics of every predicted case")
    return 1 if report.failed else 0


def write_folder_statistics(out: Path, items: Sequence[BatchItem], ext: str) -> Path:
    """`OUT/statistics.csv` over the `<case>_statistics.json` files of the cases in `items` that have one."""
    import json

    from medvlseg.infer.batch import output_for
    from medvlseg.infer.statistics import statistics_path, write_statistics_csv

    found = [statistics_path(output_for(out, item, ext)) for item in items]
    stats = [json.loads(p.read_text(encoding="utf-8")) for p in found if p.is_file()]
    path = out / "statistics.csv"
    write_statistics_csv(path, stats)
    return path
