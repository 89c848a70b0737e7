"""PNG previews of a phantom: axial, coronal and sagittal slices with arteries red / veins blue, plus a
maximum-intensity projection of the labels over the airways (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medvlseg.utils.atomic import atomic_path


def _overlay(gray: np.ndarray, label: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """RGB (H, W, 3) of a [0,1] gray slice with label 1 tinted red and label 2 tinted blue."""
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    for value, colour in ((1, (1.0, 0.1, 0.1)), (2, (0.15, 0.35, 1.0))):
        m = label == value
        rgb[m] = (1 - alpha) * rgb[m] + alpha * np.asarray(colour)
    return rgb


def _window(image: np.ndarray, lo: float = -1000.0, hi: float = 400.0) -> np.ndarray:
    """HU → [0, 1] display values."""
    return np.clip((image.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)


def _show(ax, rgb: np.ndarray, aspect: float, title: str) -> None:  # type: ignore[no-untyped-def]
    """Show a (i, j) canonical slice with i → horizontal (patient's right on the viewer's left)."""
    ax.imshow(np.transpose(rgb, (1, 0, 2))[::-1, ::-1], aspect=aspect, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def write_preview(path: str | Path, image: np.ndarray, label: np.ndarray, airway: np.ndarray,
                  spacing: tuple[float, float, float], title: str = "") -> None:
    """Write a 2x3 PNG (slices with and without labels, label MIP) of canonical RAS+ arrays (HU, mm)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = (label > 0).sum(axis=(0, 1))
    z = int(np.argmax(counts)) if counts.any() else image.shape[2] // 2
    y = int(np.argmax((label > 0).sum(axis=(0, 2)))) if label.any() else image.shape[1] // 2
    x = int(np.argmax((label > 0)[: image.shape[0] // 2].sum(axis=(1, 2)))) if label.any() else image.shape[0] // 4
    sx, sy, sz = spacing
    gray = _window(image)
    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    _show(axes[0, 0], _overlay(gray[:, :, z], np.zeros_like(label[:, :, z])), sy / sx, f"axial z={z}")
    _show(axes[0, 1], _overlay(gray[:, y, :], np.zeros_like(label[:, y, :])), sz / sx, f"coronal y={y}")
    _show(axes[0, 2], _overlay(gray[x, :, :], np.zeros_like(label[x, :, :])), sz / sy, f"sagittal x={x}")
    _show(axes[1, 0], _overlay(gray[:, :, z], label[:, :, z]), sy / sx, "axial + labels")
    _show(axes[1, 1], _overlay(gray[:, y, :], label[:, y, :]), sz / sx, "coronal + labels")
    mip = np.zeros(label.shape[::2] + (3,), dtype=np.float32)
    mip[airway.max(axis=1) > 0] = 0.6
    n_art, n_vein = (label == 1).sum(axis=1), (label == 2).sum(axis=1)  # (x, z) voxels along each A-P ray
    mip[(n_vein > 0) & (n_vein >= n_art)] = (0.15, 0.35, 1.0)
    mip[(n_art > 0) & (n_art > n_vein)] = (1.0, 0.1, 0.1)
    _show(axes[1, 2], mip, sz / sx, "MIP (A-P): artery red, vein blue, airway grey")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def _axial_and_coronal(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """Canonical windowed axial and coronal overlays (RGB) through the most vessel-rich planes, and the spacing."""
    from medvlseg.io import read_image

    img, lab = read_image(image_path), read_image(label_path)
    image, label = np.asarray(img.array), np.rint(np.asarray(lab.array)).astype(np.uint8)
    z = int(np.argmax((label > 0).sum(axis=(0, 1)))) if label.any() else image.shape[2] // 2
    y = int(np.argmax((label > 0).sum(axis=(0, 2)))) if label.any() else image.shape[1] // 2
    gray = _window(image)
    return _overlay(gray[:, :, z], label[:, :, z]), _overlay(gray[:, y, :], label[:, y, :]), img.spacing


def write_gallery(path: str | Path, cases: list[tuple[Path, Path, str]], columns: int = 4) -> None:
    """One PNG with an axial and a coronal overlay (artery red, vein blue) per case: (image file, label file, title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(cases) + columns - 1) // columns
    fig, axes = plt.subplots(rows * 2, columns, figsize=(3.2 * columns, 5.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (image_path, label_path, title) in enumerate(cases):
        axial, coronal, (sx, sy, sz) = _axial_and_coronal(Path(image_path), Path(label_path))
        r, c = 2 * (i // columns), i % columns
        _show(axes[r, c], axial, sy / sx, title)
        _show(axes[r + 1, c], coronal, sz / sx, "coronal")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=70, format="png")
    plt.close(fig)
