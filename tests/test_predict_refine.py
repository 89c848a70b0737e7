"""`predict --refine`: `none` is the voxel-wise output byte for byte; `topology` keeps the vessel mask (less its
islands below TopologyOptions.min_island_mm3), the sides and the geometry. The network is a stub with fixed,
deliberately noisy artery/vein evidence (fast, deterministic)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch

import medvlseg.infer.predictor as predictor_module
from medvlseg.commands.predict import options_from_args
from medvlseg.data.preprocess import PreprocessConfig
from medvlseg.errors import ConfigError
from medvlseg.eval.topology import betti0
from medvlseg.infer.predictor import Predictor, PredictOptions
from medvlseg.infer.refine import TopologyOptions
from medvlseg.infer.refine.topology import drop_islands
from medvlseg.io import Manifest, read_image
from medvlseg.text.prompts import CLASSES_5


class NoisyAVNet(torch.nn.Module):
    """Vessels from intensity; artery vs vein and left vs right flip voxel by voxel with the image noise."""

    activation = "sigmoid"
    size_divisor = 1

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        hu = image[:, :1]  # window −700..300 HU → [0, 1]; blood (~40 HU) ≈ 0.74, lung 0
        vessel, flip, side = 30 * (hu - 0.65), 3 * torch.sin(400 * hu), 3 * torch.cos(700 * hu)
        return torch.cat([vessel + flip + side, vessel - flip + side, vessel + flip - side, vessel - flip - side], 1)


def predictor(**changes: object) -> Predictor:
    """A Predictor around the stub (no tubularity or lung step, 32³ windows)."""
    options = PredictOptions(min_component_mm3=0.0, lung_margin_mm=-1.0, **changes)  # type: ignore[arg-type]
    return Predictor(NoisyAVNet(), PreprocessConfig(tubularity=False, lung_split=False), options, list(CLASSES_5), 32)


@pytest.fixture(scope="module")
def image(tiny_benchmark: Path) -> Path:
    """The tiny benchmark's test CT."""
    return Manifest.load(tiny_benchmark).split("test")[0].image


def test_refine_none_is_the_voxelwise_output_byte_for_byte(image: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(predictor_module, "refine_labels", lambda labels, *a, **k: calls.append(1) or labels)
    predictor(refine="none").predict_file(image, tmp_path / "none.nii.gz")
    assert not calls  # `none` never enters the refinement
    predictor(refine="topology").predict_file(image, tmp_path / "identity.nii.gz")
    assert calls  # the hook is the only difference: with an identity refinement the bytes are the same
    assert (tmp_path / "none.nii.gz").read_bytes() == (tmp_path / "identity.nii.gz").read_bytes()


def test_topology_relabels_classes_but_keeps_mask_and_geometry(image: Path, tmp_path: Path) -> None:
    predictor(refine="none").predict_file(image, tmp_path / "none.nii.gz")
    predictor(refine="topology").predict_file(image, tmp_path / "topo.nii.gz")
    none, topo = nib.load(str(tmp_path / "none.nii.gz")), nib.load(str(tmp_path / "topo.nii.gz"))
    assert none.shape == topo.shape and np.array_equal(none.affine, topo.affine)
    a, b = np.asarray(none.dataobj), np.asarray(topo.dataobj)
    kept = drop_islands(a, read_image(image).spacing, TopologyOptions().min_island_mm3) > 0
    assert kept.any() and np.array_equal(kept, b > 0)  # the vessel mask less its small islands; classes change
    assert np.count_nonzero(a != b) > 0  # the noisy voxel-wise classes were relabelled ...
    assert betti0(b == 1) + betti0(b == 2) < betti0(a == 1) + betti0(a == 2)  # ... into fewer pieces


def test_refine_five_classes_keeps_sides(image: Path) -> None:
    volume = read_image(image)
    a = predictor(classes=5).predict_volume(volume).labels
    b = predictor(classes=5, refine="topology").predict_volume(volume).labels
    kept = drop_islands(a, volume.spacing, TopologyOptions().min_island_mm3) > 0
    assert kept.any() and np.array_equal(kept, b > 0)
    assert np.array_equal(a[kept] >= 3, b[kept] >= 3)  # left/right side is the network's
    assert not np.array_equal(a, b)


def test_refine_flag_and_errors(image: Path) -> None:
    import argparse

    from medvlseg.commands import predict as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(), [])
    args = parser.parse_args(["predict", "-i", str(image), "-o", "x.nii.gz", "-m", "run", "--refine", "topology"])
    assert options_from_args(args).refine == "topology"
    with pytest.raises(SystemExit):
        parser.parse_args(["predict", "-i", str(image), "-o", "x.nii.gz", "-m", "run", "--refine", "graph"])
    with pytest.raises(ConfigError, match="artery/vein model"):
        Predictor(NoisyAVNet(), PreprocessConfig(), PredictOptions(refine="topology"), ["a", "b"], 32)
    with pytest.raises(ConfigError, match="none or topology"):
        predictor(refine="graph")
