"""Intensity windowing: clip CT values (HU) to a window and scale them to [0, 1]."""

from __future__ import annotations

import numpy as np

DEFAULT_WINDOW: tuple[float, float] = (-700.0, 300.0)  # HU, seed 002 (LACAF)


def window_hu(hu: np.ndarray, window: tuple[float, float] = DEFAULT_WINDOW) -> np.ndarray:
    """Clip `hu` (HU) to `window` = (low, high) HU and scale linearly to float32 in [0, 1]."""
    low, high = float(window[0]), float(window[1])
    if not high > low:
        raise ValueError(f"window must have high > low, got {window}")
    out = np.asarray(hu, dtype=np.float32) - np.float32(low)
    out *= np.float32(1.0 / (high - low))
    np.clip(out, 0.0, 1.0, out=out)
    return out
