"""`medvlseg models [RUN_DIR ...]`: the shipped models and the given run folders, one line each."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg models`."""
    p = subparsers.add_parser(
        "models", parents=parents, help="list shipped models and given run folders",
        description="List the models shipped inside medvlseg (usable as `predict -m NAME` / `train --init NAME`; "
                    "checksums verified with --verify) and the given run folders (or the run folders inside a "
                    "given folder).",
    )
    p.add_argument("paths", nargs="*", help="run folders, or folders holding run folders")
    p.add_argument("--verify", action="store_true", help="verify the shipped models' checksums")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per model: name, kind, preset, classes, checkpoint, size, note, path."""
    from pathlib import Path

    from medvlseg.models.zoo import SHIPPED_ROOT, list_models, verify_shipped

    infos = list_models([Path(p) for p in args.paths])
    if not infos:
        print("no models: none shipped in this installation and no run folder given")
        return 0
    for info in infos:
        if args.verify and info.kind == "shipped":
            verify_shipped(SHIPPED_ROOT / info.name)
        checked = " (checksums OK)" if args.verify and info.kind == "shipped" else ""
        print(f"{info.name:<16} {info.kind:<8} {info.preset:<10} {len(info.classes)} classes  "
              f"{info.checkpoint:<5} {info.size_mb:6.1f} MB  {info.note}{checked}  {info.path}")
    return 0
