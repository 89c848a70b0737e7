"""`medvlseg preprocess MANIFEST --out CACHE`: build the preprocessed, fingerprinted cache of a manifest."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg preprocess` and its flags."""
    p = subparsers.add_parser(
        "preprocess", parents=parents, help="build the preprocessed cache",
        description="Window, resample, add the tubularity channel, split the lungs and convert labels to 5 "
                    "classes for every case of a manifest; finished, up-to-date cases are skipped.",
    )
    p.add_argument("manifest", help="dataset.json manifest")
    p.add_argument("--out", required=True, help="cache folder (CACHE/<case>/*.npy, CACHE/cache.json)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--config", default=None,
                   help="YAML/JSON preprocessing config (a mapping, or a `preprocess:` section of a train config)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="trust cached arrays of the right size without re-checking their SHA-256")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)


def _load_config(path: str | None):  # type: ignore[no-untyped-def]
    """PreprocessConfig from a YAML/JSON file (whole file or its `preprocess:` section), or the defaults."""
    from pathlib import Path

    import yaml

    from medvlseg.data.preprocess import PreprocessConfig
    from medvlseg.errors import ConfigError, InputError
    from medvlseg.utils.config import from_dict

    if path is None:
        return PreprocessConfig()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InputError(path, f"cannot read config: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML/JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("preprocess"), dict):
        data = data["preprocess"]
    if not isinstance(data, dict):
        raise InputError(path, "config must be a mapping at the top level")
    try:
        return from_dict(PreprocessConfig, data, where=Path(path).name)
    except ConfigError as exc:
        raise InputError(path, str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Build the cache; print a summary; exit 1 listing the failed cases, if any."""
    import sys
    from pathlib import Path

    from medvlseg.data.cache import build_cache
    from medvlseg.errors import InputError

    manifest, out = Path(args.manifest), Path(args.out)
    if not manifest.is_file():
        raise InputError(manifest, "manifest not found")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    if args.workers < 1:
        raise InputError(out, f"--workers must be ≥ 1, got {args.workers}")
    config = _load_config(args.config)
    report = build_cache(manifest, out, config, workers=args.workers, verify=args.verify, progress=args.progress)
    print(f"{out}: {len(report.built)} built, {len(report.skipped)} up to date, {len(report.failed)} failed")
    for name, error in report.failed.items():
        print(f"medvlseg preprocess: error: {name}: {error}", file=sys.stderr)
    return 1 if report.failed else 0
