"""Sharded batch prediction under torchrun: rank r takes cases r, r+N, …; each writes its outputs atomically
and `predict_summary.rank<r>.json`; rank 0 waits for all and writes the combined `predict_summary.json`.

A single process (no torchrun) is the 1-rank case. Re-running skips cases whose label map exists (resumable).
Multi-node torchrun works the same (RANK/WORLD_SIZE from the environment, gloo process group for the barrier).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from medvlseg.infer.batch import SUMMARY_NAME, BatchItem, BatchReport, run_batch
from medvlseg.train.distributed import DistInfo, barrier, cleanup, init_distributed
from medvlseg.utils.atomic import write_json


def merge_reports(out_dir: Path, world_size: int) -> BatchReport:
    """Combine the per-rank summaries into one report."""
    merged = BatchReport()
    for rank in range(world_size):
        data = json.loads((out_dir / f"predict_summary.rank{rank}.json").read_text(encoding="utf-8"))
        merged.done += data["done"]
        merged.skipped.update(data["skipped"])
        merged.failed.update(data["failed"])
        merged.seconds.update(data["seconds"])
    return merged


def run_sharded(predict: Callable[[Path, Path], object], items: Sequence[BatchItem], out_dir: str | Path,
                overwrite: bool = False, ext: str = ".nii.gz", progress: bool = True) -> tuple[BatchReport, DistInfo]:
    """Predict this rank's share of `items`; on rank 0 return the combined report of all ranks."""
    shard = init_distributed(torch.device("cpu"))  # gloo: the process group only carries barriers
    out_dir = Path(out_dir)
    if not shard.enabled:
        return run_batch(predict, items, out_dir, overwrite, ext, progress), shard
    mine = list(items)[shard.rank::shard.world_size]
    report = run_batch(predict, mine, out_dir, overwrite, ext, progress and shard.is_main,
                       summary_name=f"predict_summary.rank{shard.rank}.json")
    barrier(shard)
    if shard.is_main:
        report = merge_reports(out_dir, shard.world_size)
        write_json(out_dir / SUMMARY_NAME, {**report.to_dict(), "ranks": shard.world_size})
    barrier(shard)
    cleanup(shard)
    return report, shard
