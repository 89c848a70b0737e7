"""Fixed engine data sets of the experiments: seeded training (fully + half-labelled), validation and an unseen
test set balanced over the `none` and `arterial` contrast phases, generated once into the work folder.

Every case seed is drawn from its own split's `numpy.random.SeedSequence` root, and the set refuses to be built
when a test seed repeats a training or validation seed, so test cases are never seen in training.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from medvlseg.data.phantom.benchmark import LABELS, CasePlan, build_case

log = logging.getLogger(__name__)

TEST_PHASES = ("none", "arterial")


@dataclass(frozen=True)
class EngineSet:
    """A fixed engine data set: preset + field overrides, case counts per split and one seed root per split."""

    name: str
    preset: str = "tiny"  # engine preset (medvlseg.data.phantom.synth_presets)
    overrides: dict = field(default_factory=dict)  # SynthConfig fields
    n_train_full: int = 4
    n_train_half: int = 8
    n_val: int = 2
    n_test: int = 20  # half `none`, half `arterial`
    train_root: int = 190_001
    val_root: int = 190_002
    test_root: int = 190_003

    def config(self):  # type: ignore[no-untyped-def]
        """The SynthConfig the cases are drawn from."""
        from medvlseg.data.phantom.synth_presets import get_synth_preset

        return get_synth_preset(self.preset, **self.overrides)


ENGINE_SETS: dict[str, EngineSet] = {
    # CPU budget: CTA-crop-like field of view at ~3 mm, small enough to predict 20 cases in seconds
    "cpu": EngineSet("cpu", "tiny", {"max_voxels": 160_000, "spacing_xy": (2.6, 3.0), "spacing_z": (2.6, 3.0),
                                     "max_points": 900}),
    # GPU budget (`medium`): the engine's `small` preset (all fields of view, 1.5–3 mm), more training cases
    "medium": EngineSet("medium", "small", {}, n_train_full=8, n_train_half=24, n_val=4, n_test=24),
}


def _seeds(root: int, n: int) -> list[int]:
    """`n` case seeds spawned from SeedSequence(root)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(root).spawn(n)]


def plan_engine_set(spec: EngineSet) -> list[CasePlan]:
    """Case plans: training (full then half-labelled, sides alternating), validation, test (phases alternating)."""
    train, val, test = (_seeds(spec.train_root, spec.n_train_full + spec.n_train_half),
                        _seeds(spec.val_root, spec.n_val), _seeds(spec.test_root, spec.n_test))
    if set(test) & (set(train) | set(val)):
        raise ValueError(f"engine set {spec.name}: a test seed repeats a training/validation seed")
    plans = []
    for i, seed in enumerate(train):
        annotated = "both" if i < spec.n_train_full else ("left", "right")[i % 2]
        plans.append(CasePlan(f"train_{i:03d}", "training", seed, False, annotated, phase=TEST_PHASES[i % 2]))
    plans += [CasePlan(f"val_{i:03d}", "validation", s, False, "both", phase=TEST_PHASES[i % 2])
              for i, s in enumerate(val)]
    plans += [CasePlan(f"test_{TEST_PHASES[i % 2]}_{i:03d}", "test", s, False, "both", phase=TEST_PHASES[i % 2])
              for i, s in enumerate(test)]
    return plans


def write_engine_set(out_dir: Path, spec: EngineSet, workers: int = 1) -> Path:
    """Generate every case of `spec` into out_dir (images/, labels/, lungs/, dataset.json); returns the manifest.

    An existing dataset.json is reused (the set is fixed); the manifest is written last, so an interrupted
    generation is redone rather than half-used."""
    from tqdm import tqdm

    from medvlseg.io import Case, Manifest

    out_dir = Path(out_dir)
    manifest_path = out_dir / "dataset.json"
    if manifest_path.is_file():
        return manifest_path
    out_dir.mkdir(parents=True, exist_ok=True)
    config, plans = spec.config(), plan_engine_set(spec)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(build_case, out_dir, config, p, False) for p in plans]
            entries = [f.result() for f in tqdm(futures, desc=f"engine set {spec.name}", unit="case")]
    else:
        entries = [build_case(out_dir, config, p, False) for p in tqdm(plans, desc=f"engine set {spec.name}",
                                                                          unit="case")]
    cases = [Case(name=e["case"], split=e["_split"], image=out_dir / e["image"], label=out_dir / e["label"],
                  annotated=e["annotated"], meta=e["meta"] | {"seed": p.seed})
             for e, p in zip(entries, plans)]
    extra = {"phantom": {"engine": "synth", "engine_set": asdict(spec), "config": asdict(config)}}
    manifest = Manifest(cases=cases, name=f"engine-{spec.name}", labels=dict(LABELS), modality="CT",
                        description=f"synthetic chest CT from the data engine (set {spec.name}: "
                                    f"{spec.n_test} unseen test cases, phases {'/'.join(TEST_PHASES)})",
                        extra=extra)
    path = manifest.save(manifest_path)
    log.info("wrote engine set %s (%d cases) to %s", spec.name, len(cases), out_dir)
    return path
