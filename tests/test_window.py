"""HU windowing: clip to the window and scale to [0, 1]."""

import numpy as np
import pytest

from medvlseg.data.window import window_hu


def test_default_window_maps_bounds_and_midpoint() -> None:
    hu = np.array([-1024, -700, -200, 300, 1500], dtype=np.int16)
    out = window_hu(hu)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)


def test_custom_window_is_used() -> None:
    out = window_hu(np.array([-1000.0, 0.0, 1000.0]), window=(-1000.0, 1000.0))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0], atol=1e-6)


def test_inverted_window_is_rejected() -> None:
    with pytest.raises(ValueError):
        window_hu(np.zeros(3), window=(300.0, -700.0))
