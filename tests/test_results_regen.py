"""Every committed table in docs/results regenerates from the committed run records (no training): its CSV and
Markdown (claims and verdicts included) and the README's verdict block must match byte for byte."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from medvlseg.experiments.report import regenerate
from medvlseg.experiments.summary import BEGIN, END, verdict_block

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
EXPERIMENTS = RESULTS.parents[1] / "experiments"
SPECS = sorted(RESULTS.rglob("*.spec.json"))


@pytest.mark.parametrize("spec", SPECS, ids=[str(p.relative_to(RESULTS)) for p in SPECS])
def test_committed_table_regenerates_from_its_records(spec: Path, tmp_path: Path) -> None:
    name = spec.name.removesuffix(".spec.json")
    regenerate(spec, tmp_path)
    for ext in ("csv", "md"):
        committed = (spec.parent / f"{name}.{ext}").read_text(encoding="utf-8")
        assert (tmp_path / f"{name}.{ext}").read_text(encoding="utf-8") == committed, f"{spec.parent}/{name}.{ext}"
    arms = json.loads(spec.read_text(encoding="utf-8"))["arms"]
    assert all(a["key"] for a in arms), "every arm names the run key of its records"


def test_readme_verdict_block_regenerates() -> None:
    text = (RESULTS / "README.md").read_text(encoding="utf-8")
    campaign = _load(EXPERIMENTS / "campaign.py")
    for folder in sorted({p.parent for p in SPECS if p.parent != RESULTS}):
        block = verdict_block(folder, campaign.TABLES)
        assert block in text, f"README verdict block is stale for {folder.name}: rerun campaign.py --report-only"
    assert text.count(BEGIN) == text.count(END) >= 1


def test_seed004_v1_table_regenerates(tmp_path: Path) -> None:
    """docs/results/seed004_full (the first seed-004 format) still redraws from its records."""
    v1 = _load(EXPERIMENTS / "seed004_segevolution_v1.py")
    folder = RESULTS / "seed004_full"
    results = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "records").glob("*.json"))]
    v1.write_table(tmp_path / "results.md", results, "full")
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == (folder / "results.md").read_text(encoding="utf-8")


def _load(path: Path):  # type: ignore[no-untyped-def]
    """A script of experiments/ as a module (its __main__ block does not run)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
