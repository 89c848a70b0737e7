"""Per-case extra outputs of predict, written before the label map (whose presence marks a case done):
surface meshes (`--meshes`), a PNG report (`--report`), a DICOM Segmentation (`--dicom-seg`), per-structure
statistics (`--statistics`) and an offline HTML viewer (`--html`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medvlseg.infer.predictor import Prediction
from medvlseg.io import Volume


@dataclass
class CaseExtras:
    """Which extras to write and how (mesh faces per class, smoothing iterations, formats, coordinates)."""

    meshes: bool = False
    report: bool = False
    dicom_seg: bool = False
    statistics: bool = False
    html: bool = False
    mesh_formats: list[str] = field(default_factory=lambda: ["stl", "obj"])
    mesh_faces: int = 100_000
    mesh_smooth: int = 10
    mesh_coords: str = "LPS"

    @property
    def any(self) -> bool:
        """True when at least one extra is asked for."""
        return self.meshes or self.report or self.dicom_seg or self.statistics or self.html

    def check(self, volume: Volume) -> None:
        """Before any work: InputError when a requested extra cannot apply to this input (--dicom-seg on a file)."""
        from medvlseg.errors import InputError

        if self.dicom_seg and (volume.source.kind != "dicom" or volume.path is None):
            raise InputError(volume.path or "input", "--dicom-seg needs a DICOM series folder as input")

    def __call__(self, volume: Volume, pred: Prediction, label_path: Path) -> None:
        """Write the requested extras of one predicted case beside `label_path`."""
        from medvlseg.infer.writers import sidecar_paths

        stem = sidecar_paths(label_path)["json"].name[: -len(".json")]
        names = {i + 1: n for i, n in enumerate(pred.names)}
        if self.meshes:
            from medvlseg.infer.meshes import meshes_from_labels

            meshes_from_labels(pred.labels, volume.affine, names, label_path.parent / f"{stem}_meshes", stem,
                               self.mesh_formats, self.mesh_smooth, self.mesh_faces, self.mesh_coords,
                               str(label_path))
        if self.report:
            from medvlseg.eval.figures import save_overlay_png

            save_overlay_png(label_path.parent / f"{stem}_report.png", volume.array, _artery_vein(pred),
                             volume.spacing, f"{stem}: {', '.join(pred.names)}")
        if self.dicom_seg:
            from medvlseg.infer.dicom_seg import write_dicom_seg

            write_dicom_seg(volume, pred.labels, pred.names, label_path.parent / f"{stem}_seg.dcm")
        if self.statistics:
            from medvlseg.infer.statistics import statistics_path, write_statistics

            write_statistics(statistics_path(label_path), pred.labels, volume.array, volume.spacing, pred.names,
                             stem, str(volume.path or label_path))
        if self.html:
            from medvlseg.infer.viewer import viewer_path, write_viewer

            write_viewer(viewer_path(label_path), volume.array, pred.labels, volume.affine, pred.names,
                         f"{stem}: {', '.join(pred.names)}")


def _artery_vein(pred: Prediction):  # type: ignore[no-untyped-def]
    """Labels coloured by the overlay convention: 1 artery, 2 vein (5-class and prompt names mapped by name)."""
    import numpy as np

    out = np.zeros_like(pred.labels)
    for i, name in enumerate(pred.names):
        lower = name.lower()
        code = 1 if "arter" in lower else 2 if "vein" in lower or "venous" in lower else 0
        if code:
            out[pred.labels == i + 1] = code
    return out
