"""Voxel geometry: canonical RAS+ reorientation (nibabel.orientations) and ITK LPS ↔ RAS affine conversion.

Conventions (docs/architecture.md): a canonical array has axis 0 → Right, axis 1 → Anterior, axis 2 → Superior,
exactly nibabel's `as_closest_canonical`. Affines are 4x4 voxel index → world RAS+ mm. ITK/DICOM store LPS+
world coordinates; the conversion flips the sign of the first two world rows (hand-written: a 2x2 sign flip that
no library exposes for SimpleITK images).

Extension to the contract: `SourceGeometry` also records the file format family (`"nifti"`, `"itk"`, `"dicom"`)
and the NIfTI qform/sform codes, so writers can keep the header codes of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from nibabel import orientations as ornt

RAS = ornt.axcodes2ornt(("R", "A", "S"))
_LPS_FLIP = np.diag([-1.0, -1.0, 1.0])


@dataclass(frozen=True)
class SourceGeometry:
    """The file's own voxel grid: shape (voxels), affine (voxel→RAS mm), axis codes and the way back from RAS+."""

    shape: tuple[int, ...]
    affine: np.ndarray
    axcodes: tuple[str, str, str]
    to_source_ornt: np.ndarray = field(repr=False)
    kind: str = "nifti"
    qform_code: int = 1
    sform_code: int = 1

    def to_dict(self) -> dict:
        """JSON-serialisable form (affine as nested lists of mm)."""
        return {"shape": list(self.shape), "affine": self.affine.tolist(), "axcodes": list(self.axcodes),
                "to_source_ornt": self.to_source_ornt.tolist(), "kind": self.kind,
                "qform_code": self.qform_code, "sform_code": self.sform_code}

    @classmethod
    def from_dict(cls, data: dict) -> SourceGeometry:
        """Inverse of `to_dict`."""
        return cls(tuple(int(s) for s in data["shape"]), np.asarray(data["affine"], dtype=np.float64),
                   tuple(data["axcodes"]), np.asarray(data["to_source_ornt"], dtype=np.float64),
                   data.get("kind", "nifti"), int(data.get("qform_code", 1)), int(data.get("sform_code", 1)))


def parse_axcodes(orientation: str | Sequence[str]) -> tuple[str, str, str]:
    """Normalise "LPS" / ("L","P","S") to a tuple of 3 upper-case axis codes; ValueError when invalid."""
    codes = tuple(c.upper() for c in orientation)
    if len(codes) != 3 or sorted(_axis_of(c) for c in codes) != [0, 1, 2]:
        raise ValueError(f"invalid orientation {orientation!r}: need one of R/L, A/P, S/I per axis")
    return codes  # type: ignore[return-value]


def _axis_of(code: str) -> int:
    """World axis (0 x, 1 y, 2 z) an axis code points along; -1 for an unknown code."""
    for i, pair in enumerate(("RL", "AP", "SI")):
        if code in pair:
            return i
    return -1


def canonicalize(array: np.ndarray, affine: np.ndarray, kind: str = "nifti", qform_code: int = 1,
                 sform_code: int = 1) -> tuple[np.ndarray, np.ndarray, SourceGeometry]:
    """Reorient a file's array (first 3 axes spatial) to RAS+; return (array, affine mm, SourceGeometry)."""
    affine = np.asarray(affine, dtype=np.float64)
    src_ornt = ornt.io_orientation(affine)
    to_ras = ornt.ornt_transform(src_ornt, RAS)
    canon = ornt.apply_orientation(array, to_ras)
    canon_affine = affine @ ornt.inv_ornt_aff(to_ras, array.shape[:3])
    source = SourceGeometry(tuple(int(s) for s in array.shape), affine.copy(),
                            tuple(ornt.ornt2axcodes(src_ornt)), ornt.ornt_transform(RAS, src_ornt),
                            kind, int(qform_code), int(sform_code))
    return canon, canon_affine, source


def to_source(array: np.ndarray, source: SourceGeometry) -> np.ndarray:
    """Map a canonical RAS+ array (first 3 axes spatial, same grid) back to the file's voxel order, exactly."""
    out = ornt.apply_orientation(array, source.to_source_ornt)
    if out.shape[:3] != source.shape[:3]:
        raise ValueError(f"array shape {array.shape[:3]} (canonical) does not map onto source shape "
                         f"{source.shape[:3]}")
    return out


def source_from_canonical(shape: Sequence[int], affine: np.ndarray, orientation: str | Sequence[str] = "RAS",
                          kind: str = "nifti") -> SourceGeometry:
    """Source geometry that stores a canonical grid (shape in voxels, affine mm) in axis order `orientation`."""
    codes = parse_axcodes(orientation)
    target = ornt.axcodes2ornt(codes)
    ras_to_target = ornt.ornt_transform(RAS, target)
    src_shape = tuple(int(s) for s in ornt.apply_orientation(np.empty(tuple(shape)[:3], np.uint8),
                                                             ras_to_target).shape)
    # inv_ornt_aff maps a voxel index of the reoriented (target) array to the canonical index; then → world
    src_affine = np.asarray(affine, dtype=np.float64) @ ornt.inv_ornt_aff(ras_to_target, tuple(shape)[:3])
    return SourceGeometry(src_shape + tuple(int(s) for s in tuple(shape)[3:]), src_affine, codes,
                          ras_to_target, kind)


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along each array axis (column norms of the 3x3 part)."""
    zooms = np.sqrt((np.asarray(affine, dtype=np.float64)[:3, :3] ** 2).sum(axis=0))
    return tuple(float(z) for z in zooms)  # type: ignore[return-value]


def itk_to_affine(spacing: Sequence[float], origin: Sequence[float], direction: Sequence[float]) -> np.ndarray:
    """RAS+ 4x4 affine (mm) for ITK index order (i, j, k) from ITK LPS spacing, origin and row-major direction."""
    d = np.asarray(direction, dtype=np.float64).reshape(3, 3)
    aff = np.eye(4)
    aff[:3, :3] = _LPS_FLIP @ d @ np.diag(np.asarray(spacing, dtype=np.float64))
    aff[:3, 3] = _LPS_FLIP @ np.asarray(origin, dtype=np.float64)
    return aff


def affine_to_itk(affine: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Inverse of `itk_to_affine`: (spacing mm, LPS origin mm, row-major direction cosines) for SimpleITK."""
    affine = np.asarray(affine, dtype=np.float64)
    spacing = np.asarray(spacing_of(affine))
    lps = _LPS_FLIP @ affine[:3, :3]
    direction = lps / spacing[None, :]
    origin = _LPS_FLIP @ affine[:3, 3]
    return (tuple(float(s) for s in spacing), tuple(float(o) for o in origin),
            tuple(float(v) for v in direction.ravel()))
