"""The sparse input-grid decision (`infer.label_grid`) gives the labels of interpolating every voxel, bit for bit,
on random and structured probabilities, sigmoid and softmax, 5→3 merged or not, up- and down-sampling; and those
agree with torch's trilinear resize except within float32 rounding of a threshold/tie."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medvlseg.data.preprocess import PreprocessConfig
from medvlseg.data.resample import interpolate_points, resize
from medvlseg.infer.label_grid import decide_on_grid
from medvlseg.infer.predictor import Predictor, PredictOptions


class _Probe(torch.nn.Module):
    """Stand-in network with a given activation (the decision step never calls it)."""

    size_divisor = 1

    def __init__(self, activation: str) -> None:
        super().__init__()
        self.activation = activation

    def forward(self, image: torch.Tensor, text_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        return image


def _predictor(activation: str, names: list[str], classes: int = 3) -> Predictor:
    options = PredictOptions(classes=classes, min_component_mm3=0.0, lung_margin_mm=-1.0)
    return Predictor(_Probe(activation), PreprocessConfig(tubularity=False), options, names, patch=16)


def _blobs(rng: np.random.Generator, k: int, shape: tuple[int, ...]) -> np.ndarray:
    """Smooth structured probabilities: per channel a few Gaussian blobs, sharp enough to cross 0.5."""
    grid = np.indices(shape).astype(np.float32)
    out = np.zeros((k, *shape), np.float32)
    for c in range(k):
        for _ in range(3):
            centre = rng.uniform(0, shape)[:, None, None, None]
            out[c] += np.exp(-((grid - centre) ** 2).sum(0) / (2 * rng.uniform(1.5, 4.0) ** 2))
    return np.clip(out, 0, 1)


def _softmax(rng: np.random.Generator, k: int, shape: tuple[int, ...], structured: bool) -> np.ndarray:
    logits = _blobs(rng, k, shape) * 8 if structured else rng.normal(0, 2, (k, *shape)).astype(np.float32)
    return torch.softmax(torch.from_numpy(logits), 0).numpy()


CASES = [("sigmoid", 1, (9, 11, 8), (37, 41, 30)), ("sigmoid", 4, (12, 10, 9), (45, 33, 40)),
         ("sigmoid", 2, (20, 18, 16), (11, 40, 9)), ("softmax", 3, (10, 9, 12), (36, 30, 44)),
         ("softmax", 5, (9, 9, 9), (33, 32, 34))]


@pytest.mark.parametrize("activation,k,work,shape", CASES)
@pytest.mark.parametrize("structured", [False, True])
def test_sparse_decision_equals_exhaustive(activation: str, k: int, work: tuple[int, ...],
                                           shape: tuple[int, ...], structured: bool) -> None:
    rng = np.random.default_rng(k * 7 + int(structured))
    names = [f"c{i}" for i in range(k if activation == "sigmoid" else k - 1)]
    if activation == "sigmoid":
        probs = _blobs(rng, k, work) if structured else rng.random((k, *work)).astype(np.float32) ** 3
    else:
        probs = _softmax(rng, k, work, structured)
    predictor = _predictor(activation, names)
    decider = lambda p: predictor.class_labels(p, dim=0)[0]  # noqa: E731
    sparse = decide_on_grid(probs, shape, decider, activation, max_voxels=3000)
    full = decide_on_grid(probs, shape, decider, activation, exhaustive=True)
    np.testing.assert_array_equal(sparse, full)
    assert len(np.unique(full)) > 1  # the fixture has class boundaries
    # against torch's whole-volume trilinear: same labels except where rounding (≤ 1e-5) could flip them
    whole = resize(probs, shape, "linear")
    torch_labels, _ = predictor.class_labels(whole)
    srt = np.sort(whole, axis=0)
    near = np.abs(whole - 0.5).min(0) < 1e-5 if activation == "sigmoid" else srt[-1] - srt[-2] < 1e-5
    np.testing.assert_array_equal(sparse[~near], torch_labels[~near])


def test_interpolated_points_match_torch_and_stay_within_the_neighbours() -> None:
    rng = np.random.default_rng(3)
    probs = rng.random((2, 7, 9, 5)).astype(np.float32)
    shape = (23, 17, 19)
    pts = np.indices(shape).reshape(3, -1)
    vals = interpolate_points(probs, tuple(pts), shape).reshape(2, *shape)
    np.testing.assert_allclose(vals, resize(probs, shape, "linear"), atol=2e-6)
    assert vals.min() >= probs.min() and vals.max() <= probs.max()


def test_merged_five_class_sigmoid_decision_matches_exhaustive() -> None:
    rng = np.random.default_rng(5)
    probs = _blobs(rng, 4, (12, 12, 10))
    predictor = _predictor("sigmoid", ["la", "lv", "ra", "rv"], classes=3)
    assert predictor.merges_sides
    decider = lambda p: predictor.class_labels(p, dim=0)[0]  # noqa: E731
    sparse = decide_on_grid(probs, (40, 38, 33), decider, "sigmoid")
    np.testing.assert_array_equal(sparse, decide_on_grid(probs, (40, 38, 33), decider, "sigmoid", exhaustive=True))
    assert set(np.unique(sparse)) == {0, 1, 2}


def test_block_interpolation_equals_pointwise_bit_for_bit() -> None:
    """`interpolate_blocks` (corners gathered once per stencil block) gives `interpolate_points`' float32 values
    exactly, for all channels and for one channel per block, at the far faces too."""
    from medvlseg.data.resample import linear_stencil
    from medvlseg.infer.label_grid import interpolate_blocks

    rng = np.random.default_rng(11)
    probs = rng.random((3, 6, 8, 5)).astype(np.float32)
    shape = (17, 25, 13)
    pts = tuple(np.indices(shape).reshape(3, -1))
    sten = [linear_stencil(n, m) for n, m in zip(probs.shape[1:], shape)]
    starts = np.stack([s[0][p] for s, p in zip(sten, pts)])  # (3, n) block of each voxel
    blocks, owner = np.unique(starts, axis=1, return_inverse=True)
    weight = tuple(s[2][p] for s, p in zip(sten, pts))
    full = interpolate_blocks(probs, tuple(blocks), owner.ravel(), weight)
    np.testing.assert_array_equal(full, interpolate_points(probs, pts, shape))
    channel = rng.integers(0, 3, blocks.shape[1])
    one = interpolate_blocks(probs, tuple(blocks), owner.ravel(), weight, channel)
    np.testing.assert_array_equal(one, interpolate_points(probs, pts, shape, channels=channel[owner.ravel()]))
