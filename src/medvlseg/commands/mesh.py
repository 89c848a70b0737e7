"""`medvlseg mesh LABELMAP`: one surface mesh per class in scanner millimetres, with volume and area."""

from __future__ import annotations

import argparse


def add_mesh_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by `mesh` and `predict --meshes`."""
    p.add_argument("--mesh-format", default="stl,obj", help="comma-separated: stl, obj, ply, glb")
    p.add_argument("--mesh-faces", type=int, default=100_000, help="face budget per class (decimation)")
    p.add_argument("--mesh-smooth", type=int, default=10, help="Taubin smoothing iterations (0: none)")
    p.add_argument("--mesh-coords", choices=("LPS", "RAS"), default="LPS",
                   help="world coordinates of the vertices (LPS: what 3D Slicer assumes for STL/OBJ)")


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg mesh` and its flags."""
    p = subparsers.add_parser(
        "mesh", parents=parents, help="3D surface meshes of a label map",
        description="Marching cubes per label value, smoothed and decimated, in world millimetres (overlays the "
                    "CT in 3D Slicer); writes <stem>_<value>_<name>.<fmt> and <stem>_meshes.json (volume ml, "
                    "surface mm²).",
    )
    p.add_argument("labelmap", help="label-map file (NIfTI/NRRD/MHA)")
    p.add_argument("-o", "--out", default=None, help="output folder (default: beside the label map)")
    add_mesh_flags(p)
    p.set_defaults(func=run)


def mesh_formats(text: str) -> list[str]:
    """'stl,obj' → ['stl', 'obj']."""
    return [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]


def run(args: argparse.Namespace) -> int:
    """Write the meshes and print one line per class."""
    from pathlib import Path

    from medvlseg.errors import InputError
    from medvlseg.infer.meshes import write_meshes

    label = Path(args.labelmap)
    if not label.exists():
        raise InputError(label, "label map not found")
    out = Path(args.out) if args.out else label.parent
    from medvlseg.commands.checks import check_mesh_formats

    check_mesh_formats(mesh_formats(args.mesh_format))
    summaries = write_meshes(label, out, mesh_formats(args.mesh_format), args.mesh_smooth, args.mesh_faces,
                             args.mesh_coords)
    for s in summaries:
        print(f"{s.label} {s.name}: {s.volume_ml:.2f} ml, {s.surface_mm2:.0f} mm², {s.faces} faces → "
              f"{', '.join(s.files)}")
    if not summaries:
        print(f"{label}: no labelled voxels, no meshes written")
    return 0
