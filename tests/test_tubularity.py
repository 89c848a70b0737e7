"""Hessian vesselness: tubes beat planes and blobs, eigenvalues are exact, blocks are seamless."""

import numpy as np
import pytest
import torch

from medvlseg.data.tubularity import sym3_eigvals, tubularity

N = 40


def _grid() -> tuple[np.ndarray, ...]:
    return np.meshgrid(*(np.arange(N, dtype=np.float32) - N / 2 for _ in range(3)), indexing="ij")


def _tube(radius: float = 2.0) -> np.ndarray:
    x, y, _ = _grid()
    return np.exp(-(x**2 + y**2) / (2 * radius**2)).astype(np.float32)


def _plane(radius: float = 2.0) -> np.ndarray:
    x, _, _ = _grid()
    return np.exp(-(x**2) / (2 * radius**2)).astype(np.float32)


def _blob(radius: float = 2.0) -> np.ndarray:
    x, y, z = _grid()
    return np.exp(-(x**2 + y**2 + z**2) / (2 * radius**2)).astype(np.float32)


def test_tube_beats_plane_and_blob_at_matching_scale() -> None:
    c = N // 2
    for radius, min_vox, ratio in [(2.0, None, 5.0), (3.0, None, 5.0), (3.0, 1.5, 3.0)]:
        kw = dict(spacing=(1.0, 1.0, 1.0), sigmas=(radius,), min_vox=min_vox)
        tube, plane, blob = (tubularity(v(radius), **kw)[c, c, c] for v in (_tube, _plane, _blob))
        assert tube > 0.5
        assert tube > ratio * max(plane, blob)


def test_pyramid_levels_agree_with_full_resolution() -> None:
    rng = np.random.default_rng(3)
    img = (_tube(3.0) + 0.5 * _tube(1.0) + 0.05 * rng.standard_normal((N, N, N))).astype(np.float32)
    full = tubularity(img, (1.0, 1.0, 1.0), (1.0, 2.0, 4.0), min_vox=None)
    pyr = tubularity(img, (1.0, 1.0, 1.0), (1.0, 2.0, 4.0), min_vox=1.5)  # sigma 4 mm on the 2x grid
    assert np.corrcoef(full.ravel(), pyr.ravel())[0, 1] > 0.95
    assert np.abs(full - pyr).mean() < 0.02


def test_output_range_and_dark_tube_ignored() -> None:
    rng = np.random.default_rng(0)
    img = _tube() + 0.05 * rng.standard_normal((N, N, N)).astype(np.float32)
    out = tubularity(img, (1.0, 1.0, 1.0), (1.0, 2.0))
    assert out.dtype == np.float32 and out.shape == img.shape
    assert 0.0 <= out.min() and out.max() <= 1.0
    dark = tubularity(-_tube(), (1.0, 1.0, 1.0), (2.0,))
    assert dark[N // 2, N // 2, N // 2] < 1e-3


def test_blocks_equal_whole_volume() -> None:
    rng = np.random.default_rng(1)
    img = (_tube() + 0.1 * rng.standard_normal((N, N, N))).astype(np.float32)
    whole = tubularity(img, (1.0, 0.8, 1.5), (1.0, 2.0), block=64)
    blocks = tubularity(img, (1.0, 0.8, 1.5), (1.0, 2.0), block=13)
    np.testing.assert_allclose(blocks, whole, atol=1e-5)


def test_sigmas_are_in_mm_with_anisotropic_spacing() -> None:
    """A 4 mm-radius tube sampled at 2 mm along axis 0 responds like the same tube at 1 mm."""
    x, y, _ = np.meshgrid(np.arange(20) * 2.0 - 20, np.arange(40) - 20.0, np.arange(40) - 20.0, indexing="ij")
    aniso = np.exp(-(x**2 + y**2) / (2 * 4.0**2)).astype(np.float32)
    iso = _tube(4.0)
    a = tubularity(aniso, (2.0, 1.0, 1.0), (4.0,))[10, 20, 20]
    b = tubularity(iso, (1.0, 1.0, 1.0), (4.0,))[20, 20, 20]
    assert a > 0.3 and abs(a - b) < 0.1 * b


def test_closed_form_eigenvalues_match_eigvalsh() -> None:
    a = torch.randn(500, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = a + a.transpose(1, 2)
    h = [a[:, 0, 0], a[:, 1, 1], a[:, 2, 2], a[:, 0, 1], a[:, 0, 2], a[:, 1, 2]]
    ours = torch.stack(sym3_eigvals(h), dim=1)
    ref = torch.linalg.eigvalsh(a).flip(1)
    torch.testing.assert_close(ours, ref, atol=1e-9, rtol=1e-9)


def test_correlates_with_skimage_frangi() -> None:
    frangi = pytest.importorskip("skimage.filters").frangi
    rng = np.random.default_rng(2)
    img = (_tube(1.5) + 0.6 * _plane(3.0) + 0.05 * rng.standard_normal((N, N, N))).astype(np.float32)
    ours = tubularity(img, (1.0, 1.0, 1.0), (1.0, 2.0), gamma=0.1, normalize=False)
    ref = frangi(img, sigmas=(1.0, 2.0), black_ridges=False, gamma=0.1)
    assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.95
