"""`predict --html`: the offline viewer page, checked in a real browser (headless Chromium through selenium):
it renders the CT with artery-red and vein-blue pixels, logs no console errors and requests nothing off disk.

The browser test is skipped (visibly, with its reason: pytest runs with -rs) when chromium/chromedriver are
missing; `.ci/run` installs them and sets MEDVLSEG_REQUIRE_BROWSER=1, which turns that skip into a failure."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

from medvlseg.infer.viewer import strided, viewer_html, write_viewer
from medvlseg.infer.viewer_browser import find_browser
from medvlseg.io import Manifest, read_image

NAMES = ["pulmonary artery", "pulmonary vein"]


def test_page_is_self_contained(tiny_benchmark: Path) -> None:
    case = Manifest.load(tiny_benchmark).split("training")[0]
    ct, lab = read_image(case.image), read_image(case.label)
    page = viewer_html(ct.array, np.asarray(lab.array).astype(np.uint8), ct.affine, NAMES, "case <1>")
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", page)  # no external script/style
    assert "default-src 'none'" in page and "BSD 2-Clause License" in page and "case &lt;1&gt;" in page
    assert page.count("</script>") == 2  # NiiVue, data + code: nothing inside closes a script early


def test_strided_grid_keeps_world_positions() -> None:
    arr = np.arange(10 * 8 * 6).reshape(10, 8, 6)
    affine = np.diag([0.5, 0.5, 1.0, 1.0])
    small, small_affine = strided(arr, affine, max_voxels=100)
    assert small.size <= 100
    k = small_affine[0, 0] / 0.5
    np.testing.assert_allclose(small_affine @ [1, 1, 1, 1], affine @ [k, k, k, 1])  # voxel 1 = original voxel k
    assert small[1, 1, 1] == arr[int(k), int(k), int(k)]


@pytest.mark.skipif(find_browser() is None and not os.environ.get("MEDVLSEG_REQUIRE_BROWSER"),
                    reason="no chromium + chromedriver: browser test of the HTML viewer NOT run "
                           "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)")
def test_viewer_renders_offline_in_chromium(tiny_benchmark: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    from medvlseg.infer.viewer_browser import load_page

    case = next(c for c in Manifest.load(tiny_benchmark).split("training") if c.annotated == "both")
    ct, lab = read_image(case.image), read_image(case.label)
    labels = np.asarray(lab.array).astype(np.uint8)
    assert {1, 2} <= set(np.unique(labels))
    page = write_viewer(tmp_path / "case_view.html", ct.array, labels, ct.affine, NAMES, "case")
    result = load_page(page, 1000, 600)
    assert result.ready, result.status
    assert not [e for e in result.console if e["level"] == "SEVERE"], result.console
    assert result.urls and all(u.startswith(("file:", "data:", "blob:")) for u in result.urls), result.urls
    rgb = (imread(io.BytesIO(result.png))[..., :3] * 255).astype(int)
    view = rgb[60:]  # below the control bar
    assert view.std() > 20  # not blank
    r, g, b = view[..., 0], view[..., 1], view[..., 2]
    red = (r > 150) & (g < 100) & (b < 100)  # arteries (230, 40, 40) blended over grey CT
    blue = (b > 150) & (r < 100)  # veins (40, 120, 255)
    assert red.sum() > 50 and blue.sum() > 50, (red.sum(), blue.sum())


def test_predict_html_writes_the_page(tiny_run: Path, tiny_benchmark: Path, tmp_path: Path) -> None:
    from medvlseg.cli import main

    case = Manifest.load(tiny_benchmark).split("test")[0]
    out = tmp_path / "case.nii.gz"
    assert main(["predict", "-i", str(case.image), "-o", str(out), "-m", str(tiny_run), "--html",
                 "--no-progress"]) == 0
    page = (tmp_path / "case_view.html").read_text(encoding="utf-8")
    assert "niivue" in page and '"name": "pulmonary vein"' in page
