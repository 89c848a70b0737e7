"""The shipped default model itself: checksums verified at load, a Dice floor on an unseen engine case that a
broken (re-initialised) model fails, and the whole-thorax non-contrast 4 mm engine CT (both classes, both lungs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from medvlseg.eval.metrics import dice
from medvlseg.infer.predictor import Predictor, PredictOptions
from medvlseg.io.image import Volume
from medvlseg.models.zoo import resolve_model, verify_shipped

DICE_FLOOR = 0.30  # mean artery/vein Dice on the case below: shipped model 0.52, re-initialised ≤ 0.02 (measured)


@pytest.fixture(scope="module")
def engine_case():  # type: ignore[no-untyped-def]
    """An unseen arterial-phase CTA crop of the engine at ~2.6–3.2 mm (tiny preset; a seed no training used)."""
    from medvlseg.data.phantom.synth import synth_case
    from medvlseg.data.phantom.synth_presets import get_synth_preset

    return synth_case(get_synth_preset("tiny", contrast="arterial"), seed=16_000_003)


def _mean_dice(predictor: Predictor, case) -> float:  # type: ignore[no-untyped-def]
    """Mean artery/vein Dice of a prediction on the case's own grid."""
    pred = predictor.predict_volume(Volume.from_canonical(case.image, case.affine)).labels
    return float(np.mean([dice(pred == c, case.label == c) for c in (1, 2)]))


def test_shipped_weights_verified_and_above_floor(engine_case) -> None:  # type: ignore[no-untyped-def]
    folder = resolve_model(None)  # verifies every checksum of manifest.json
    manifest = verify_shipped(folder)
    assert (folder / "best.safetensors").stat().st_size < 25 * 2**20 and manifest["training"]["steps"] > 0
    predictor = Predictor.from_run(folder, PredictOptions(device="cpu", engine="torch"))  # weights reset below
    good = _mean_dice(predictor, engine_case)
    assert good >= DICE_FLOOR, good
    torch.manual_seed(0)  # a broken model: same architecture, re-initialised weights, same class embeddings
    for module in predictor.model.modules():
        if hasattr(module, "reset_parameters") and module is not predictor.model:
            module.reset_parameters()
    assert _mean_dice(predictor, engine_case) < DICE_FLOOR


def test_shipped_export_labels_agree_with_torch(engine_case) -> None:  # type: ignore[no-untyped-def]
    """`auto` runs the shipped model's ONNX export on CPU: same labels as torch on ≥ 99.99 % of vessel voxels."""
    from medvlseg.infer.engines import CPU_DEFAULT

    folder = resolve_model(None)
    volume = Volume.from_canonical(engine_case.image, engine_case.affine)
    labels = {}
    for engine in ("torch", "auto"):
        predictor = Predictor.from_run(folder, PredictOptions(device="cpu", engine=engine))
        labels[predictor.options.engine] = predictor.predict_volume(volume).labels
    assert set(labels) == {"torch", CPU_DEFAULT}
    vessel = (labels["torch"] > 0) | (labels[CPU_DEFAULT] > 0)
    assert vessel.sum() > 500  # not vacuous
    assert (labels["torch"][vessel] == labels[CPU_DEFAULT][vessel]).mean() >= 0.9999


def test_whole_thorax_non_contrast_4mm(tmp_path: Path) -> None:
    import nibabel as nib

    from medvlseg.cli import main
    from medvlseg.demo import lung_presence, whole_thorax_case

    ct, label, lung = whole_thorax_case(tmp_path)
    assert label.shape == lung.shape and {1, 2} <= set(np.unique(lung))
    assert main(["predict", "-i", str(ct), "-o", str(tmp_path / "av.nii.gz"), "--device", "cpu"]) == 0
    pred = np.asarray(nib.load(str(tmp_path / "av.nii.gz")).dataobj)
    assert pred.shape == label.shape
    presence = lung_presence(pred, lung)
    assert all(presence[side][cls] > 0 for side in ("left", "right") for cls in ("artery", "vein")), presence
