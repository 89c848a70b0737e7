"""Synthetic chest-CT phantoms with pulmonary artery (1) / vein (2) labels, and the benchmark writer.

Public API: `generate_case(config, seed) -> PhantomCase`, `write_benchmark(out_dir, preset, seed)`,
`PhantomConfig`, `get_preset(name)`. Submodules are imported lazily by the callers that need them.
"""

from __future__ import annotations

from medvlseg.data.phantom.generator import PhantomCase, generate_case
from medvlseg.data.phantom.presets import PRESETS, PhantomConfig, get_preset

__all__ = ["PRESETS", "PhantomCase", "PhantomConfig", "generate_case", "get_preset", "write_benchmark"]


def write_benchmark(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Write a phantom benchmark (images, labels, dataset.json); see `benchmark.write_benchmark`."""
    from medvlseg.data.phantom.benchmark import write_benchmark as _write

    return _write(*args, **kwargs)
