"""The `medvlseg` command line: a thin argparse layer over the Python API.

Each subcommand lives in `medvlseg.commands.<name>` and exposes `add_parser(subparsers, parents)`,
which registers its flags and sets `func` (called with the parsed namespace, returns an exit code).
Heavy imports (torch, monai, ...) happen inside `func`, so `medvlseg --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from medvlseg import __version__
from medvlseg.errors import MedvlsegError

COMMANDS = (
    "phantom",
    "validate",
    "preprocess",
    "train",
    "predict",
    "evaluate",
    "export",
    "mesh",
    "import_nnunet",
    "demo",
    "models",
)


def _common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    common.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    common.add_argument("--allow-outside-paths", action="store_true",
                        help="let manifest image/label paths leave the manifest's folder (absolute or '..')")
    return common


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="medvlseg",
        description="Language-guided segmentation of pulmonary arteries and veins in chest CT.",
    )
    parser.add_argument("--version", action="version", version=f"medvlseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_parser()
    for name in COMMANDS:
        importlib.import_module(f"medvlseg.commands.{name}").add_parser(sub, [common])
    return parser


def _tolerant_streams() -> None:
    """Never crash on a non-UTF-8 terminal/locale: unencodable characters (mm², →) are escaped, not fatal."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `medvlseg` console script; returns the process exit code."""
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from medvlseg.io.manifest import allow_outside_paths

    allow_outside_paths(bool(getattr(args, "allow_outside_paths", False)))  # per call, never left over
    try:
        code = args.func(args)
    except MedvlsegError as exc:
        if args.debug:
            raise
        print(f"medvlseg {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"medvlseg {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
