"""Outputs honour the umask (mkstemp's 0600 is not what a finished file should keep)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from medvlseg.io import write_image
from medvlseg.utils.atomic import write_json


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_honour_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        image = write_image(tmp_path / "x.nii.gz", np.zeros((4, 4, 4), np.uint8), affine=np.eye(4))
        side = tmp_path / "x.json"
        write_json(side, {"a": 1})
    finally:
        os.umask(old)
    for path in (image, side):
        assert stat.S_IMODE(path.stat().st_mode) == mode
