"""Peak resident memory per stage, for benchmarks: a background /proc sampler, and stage marks on a module's
stage functions (the benchmarks wrap `medvlseg.infer.predictor`'s read/preprocess/inference/decide/write)."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

PREDICT_STAGES = {"read_image": "read", "preprocess_image": "preprocess", "sliding_probabilities": "inference",
                  "decide_on_grid": "decide", "write_image": "write", "write_label_map": "write"}


class RssSampler:
    """Background sampler of this process's resident set size (GB) every `period` s, marked by stage name."""

    def __init__(self, period: float = 0.01) -> None:
        self.period, self.stage, self.peak = period, "start", {}  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm", encoding="ascii") as f:
            while not self._stop.is_set():
                f.seek(0)
                rss = int(f.read().split()[1]) * page / 1e9
                self.peak[self.stage] = max(self.peak.get(self.stage, 0.0), rss)
                time.sleep(self.period)

    def mark(self, stage: str) -> None:
        """Samples from now on count for `stage`."""
        self.stage = stage

    def stop(self) -> dict[str, float]:
        """Stop sampling; peak RSS (GB) per stage."""
        self._stop.set()
        self._thread.join()
        return dict(self.peak)


def peak_rss_gb() -> float:
    """This process's lifetime peak resident set size (GB, from getrusage: catches spikes the sampler misses)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


@contextmanager
def stage_marks(rss: RssSampler, module: ModuleType, stages: Mapping[str, str] = PREDICT_STAGES) -> Iterator[None]:
    """Within the block, calling `module.<name>` marks `rss` with stage `stages[name]` (functions restored after)."""
    saved = {name: getattr(module, name) for name in stages}

    def wrap(fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def inner(*args: Any, **kwargs: Any) -> Any:
            rss.mark(stage)
            return fn(*args, **kwargs)
        return inner

    for name, stage in stages.items():
        setattr(module, name, wrap(saved[name], stage))
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(module, name, fn)
