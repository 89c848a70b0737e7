"""Every module of medvlseg imports on its own, in a fresh interpreter, in a random order (no import circles)."""

from __future__ import annotations

import importlib.util
import os
import random
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import importlib, sys, traceback
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException:
        print(f"FAILED {name}", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


def _module_names() -> list[str]:
    """Dotted names of every .py file under the medvlseg package (found on disk, nothing imported here)."""
    spec = importlib.util.find_spec("medvlseg")
    assert spec is not None and spec.submodule_search_locations
    root = Path(list(spec.submodule_search_locations)[0])
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = ("medvlseg", *path.relative_to(root).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_module_list_covers_the_stages() -> None:
    names = _module_names()
    for stage in ("io", "data", "text", "models", "train", "infer", "eval", "utils", "commands"):
        assert f"medvlseg.{stage}" in names
    assert "medvlseg.infer.predictor" in names and "medvlseg.text.clip" in names
    assert len(names) == len(set(names)) > 100


def test_every_module_imports_in_random_order() -> None:
    seed = int(os.environ.get("MEDVLSEG_IMPORT_SEED", random.SystemRandom().randrange(1 << 30)))
    names = _module_names()
    random.Random(seed).shuffle(names)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *names], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"order of seed {seed} (rerun: MEDVLSEG_IMPORT_SEED={seed}):\n{proc.stderr[-3000:]}"
