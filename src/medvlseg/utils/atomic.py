"""Atomic writes: a file appears complete under its final name or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    `suffix` defaults to the full multi-part suffix of `path` (e.g. ".nii.gz"), so writers that choose the
    format by extension see the right one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(path.suffixes) if path.suffixes else ""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; a finished file gets the usual 0666 & ~umask
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def file_mode() -> int:
    """Permission bits of a newly created file under the current umask (0o666 & ~umask)."""
    mask = os.umask(0o022)  # the only portable way to read the umask is to set it and restore it
    os.umask(mask)
    return 0o666 & ~mask


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any, indent: int = 2) -> None:
    """Write a JSON file atomically (sorted keys are not forced, so order is the caller's)."""
    write_text(path, json.dumps(obj, indent=indent) + "\n")


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete temporary files `atomic_path` left in `folder` when its process was killed (e.g. kill -9)."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp*"):
        if tmp.is_file():
            tmp.unlink()
            removed.append(tmp)
    return removed
