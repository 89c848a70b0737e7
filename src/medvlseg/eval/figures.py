"""Overlay figures: axial/coronal/sagittal CT slices with the label map plus a coloured MIP (matplotlib Agg).

Arrays are canonical RAS+ (axis 0 → patient Right, 1 → Anterior, 2 → Superior; medvlseg.io). Views use the
radiological convention: axial and coronal panels show the patient's right on the viewer's left; sagittal panels
show anterior on the left. Each panel is letter-marked (R/L, A/P, S/I) and drawn with the pixel aspect of the
voxel spacing (mm). Arteries are red and veins blue (3-class 1/2 or 5-class 1,3/2,4). Slices pass through the
vessel centre of mass (of gt when given, else of the label). The MIP is a coronal projection showing, for each
ray, the class of the most anterior vessel voxel, darker with depth. Hand-written: no library draws this.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medvlseg.utils.atomic import atomic_path

ARTERY_RGB, VEIN_RGB = (0.9, 0.1, 0.1), (0.15, 0.35, 1.0)
WINDOW_HU = (-1000.0, 600.0)
_LUT = np.array([0, 1, 2, 1, 2], dtype=np.uint8)  # 5-class → 1 artery, 2 vein (3-class maps unchanged)


def artery_vein(label: np.ndarray) -> np.ndarray:
    """uint8 map (1 artery, 2 vein) of a 3- or 5-class label map (values > 4 are treated as background)."""
    lab = np.asarray(label).astype(np.int64)
    lab = np.where((lab < 0) | (lab > 4), 0, lab)
    return _LUT[lab]


def vessel_centre(label: np.ndarray) -> tuple[int, int, int]:
    """Centre of mass (voxels, rounded) of the vessel voxels; the array centre if there are none."""
    idx = np.nonzero(np.asarray(label) > 0)
    if idx[0].size == 0:
        return tuple(int(n // 2) for n in label.shape)  # type: ignore[return-value]
    return tuple(int(round(float(i.mean()))) for i in idx)  # type: ignore[return-value]


def _views(volume: np.ndarray, centre: Sequence[int], spacing: Sequence[float]) -> list[tuple]:
    """(2-D display array rows=up→down after origin='lower', aspect, corner letters) for axial, coronal, sagittal."""
    x, y, z = centre
    sx, sy, sz = spacing
    axial = volume[:, :, z].T[:, ::-1]  # (Y, X) with X flipped: patient right on the viewer's left
    coronal = volume[:, y, :].T[:, ::-1]  # (Z, X)
    sagittal = volume[x, :, :].T[:, ::-1]  # (Z, Y) with Y flipped: anterior on the left
    return [(axial, sy / sx, ("R", "L", "A", "P"), f"axial z={z}"),
            (coronal, sz / sx, ("R", "L", "S", "I"), f"coronal y={y}"),
            (sagittal, sz / sy, ("A", "P", "S", "I"), f"sagittal x={x}")]


def _rgba(av: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """RGBA overlay (H, W, 4) of a 2-D artery/vein map."""
    out = np.zeros((*av.shape, 4), dtype=np.float32)
    out[av == 1] = (*ARTERY_RGB, alpha)
    out[av == 2] = (*VEIN_RGB, alpha)
    return out


def coloured_mip(av: np.ndarray) -> np.ndarray:
    """Coronal RGB MIP (Z, X flipped, 3) of an artery/vein map: front-most (anterior) class, darker with depth."""
    present = av > 0
    depth_from_front = np.argmax(present[:, ::-1, :], axis=1)  # (X, Z): voxels behind the anterior face
    hit = present.any(axis=1)  # (X, Z)
    front_y = av.shape[1] - 1 - depth_from_front
    cls = np.take_along_axis(av, front_y[:, None, :], axis=1)[:, 0, :]  # (X, Z)
    shade = 1.0 - 0.6 * depth_from_front / max(1, av.shape[1] - 1)
    rgb = np.zeros((*cls.shape, 3), dtype=np.float32)
    rgb[cls == 1] = ARTERY_RGB
    rgb[cls == 2] = VEIN_RGB
    rgb *= (shade * hit)[..., None]
    return rgb.transpose(1, 0, 2)[:, ::-1]  # (Z, X, 3), patient right on the viewer's left


def _letters(ax, letters: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
    """Write the orientation letters (left, right, top, bottom) inside a panel's edges."""
    style = {"color": "yellow", "fontsize": 9, "fontweight": "bold", "transform": ax.transAxes}
    ax.text(0.02, 0.5, letters[0], ha="left", va="center", **style)
    ax.text(0.98, 0.5, letters[1], ha="right", va="center", **style)
    ax.text(0.5, 0.98, letters[2], ha="center", va="top", **style)
    ax.text(0.5, 0.02, letters[3], ha="center", va="bottom", **style)


def _draw_row(axes: Sequence, ct: np.ndarray, av: np.ndarray, centre: Sequence[int], spacing: Sequence[float],
              name: str) -> None:
    """One figure row: three CT slices with the overlay and the coloured MIP, titled with `name`."""
    for ax, (img, aspect, letters, where), (lab, _, _, _) in zip(axes, _views(ct, centre, spacing),
                                                                  _views(av, centre, spacing)):
        ax.imshow(img, cmap="gray", vmin=WINDOW_HU[0], vmax=WINDOW_HU[1], origin="lower", aspect=aspect,
                  interpolation="nearest")
        ax.imshow(_rgba(lab), origin="lower", aspect=aspect, interpolation="nearest")
        ax.set_title(f"{name}: {where}", fontsize=9)
        _letters(ax, letters)
    axes[3].imshow(coloured_mip(av), origin="lower", aspect=spacing[2] / spacing[0], interpolation="nearest")
    axes[3].set_title(f"{name}: coronal MIP", fontsize=9)
    _letters(axes[3], ("R", "L", "S", "I"))
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("black")


def save_overlay_png(path: str | Path, image_hu: np.ndarray, label: np.ndarray, spacing: Sequence[float],
                     title: str, gt: np.ndarray | None = None, dpi: int = 110) -> Path:
    """Write a PNG of CT (HU, canonical (X, Y, Z)) with label overlays; gt adds a second row. Spacing in mm."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    image_hu, label = np.asarray(image_hu), np.asarray(label)
    if image_hu.ndim != 3 or image_hu.shape != label.shape or (gt is not None and np.shape(gt) != label.shape):
        raise ValueError(f"image {image_hu.shape}, label {label.shape} and gt "
                         f"{None if gt is None else np.shape(gt)} must be the same 3-D shape")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f"spacing must be 3 positive values in mm, got {tuple(spacing)}")
    rows = [("prediction" if gt is not None else "label", artery_vein(label))]
    if gt is not None:
        rows.append(("ground truth", artery_vein(gt)))
    centre = vessel_centre(rows[-1][1])
    fig = Figure(figsize=(13, 4.0 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), 4, squeeze=False)
    for row_axes, (name, av) in zip(axes, rows):
        _draw_row(row_axes, image_hu, av, centre, spacing, name)
    fig.suptitle(f"{title}   (radiological view, spacing {' x '.join(f'{s:.2f}' for s in spacing)} mm)",
                 fontsize=11)
    fig.legend(handles=[Patch(color=ARTERY_RGB, label="artery"), Patch(color=VEIN_RGB, label="vein")],
               loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    return path
